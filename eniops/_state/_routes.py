"""Route tables and their routes, parsed from DescribeRouteTables. Pure."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, get_args

from .._core._json import JsonDict
from ._tags import tag_dict

if TYPE_CHECKING:
    from mypy_boto3_ec2.type_defs import RouteTableTypeDef, RouteTypeDef

#: A key of a DescribeRouteTables route that names its target.
RouteTargetKey = Literal[
    "NetworkInterfaceId",
    "InstanceId",
    "NatGatewayId",
    "TransitGatewayId",
    "VpcPeeringConnectionId",
    "GatewayId",
    "EgressOnlyInternetGatewayId",
    "LocalGatewayId",
    "CarrierGatewayId",
    "CoreNetworkArn",
    "OdbNetworkArn",
]
#: Those keys in the order EC2's own consoles read them (an instance route shows its ENI
#: too: the ENI is what moves).
ROUTE_TARGET_KEYS: tuple[RouteTargetKey, ...] = get_args(RouteTargetKey)


@dataclass(frozen=True)
class RouteTarget:
    """What a route sends traffic to: the key EC2 shows it under, and its id."""

    key: str
    target_id: str

    @property
    def param(self) -> str:
        """The CreateRoute/ReplaceRoute parameter that sets it again (a Gateway Load Balancer
        endpoint shows as a gateway and is set as an endpoint)."""
        if self.key == "GatewayId" and self.target_id.startswith("vpce-"):
            return "VpcEndpointId"
        return self.key

    @property
    def movable(self) -> bool:
        """True for an instance or ENI: what eniops moves overlay routes between."""
        return self.key in ("NetworkInterfaceId", "InstanceId")

    @property
    def local(self) -> bool:
        """The VPC's own local route: never replaced."""
        return self.key == "GatewayId" and self.target_id == "local"


def destination_key(destination: str) -> str:
    """The parameter that names `destination` (a canonical CIDR) in Create/Replace/DeleteRoute
    and DescribeRouteTables: EC2 keeps IPv6 destinations apart."""
    return "DestinationIpv6CidrBlock" if ":" in destination else "DestinationCidrBlock"


@dataclass(frozen=True)
class Route:
    """One route of a route table, to an IPv4 or IPv6 destination (not to a prefix list)."""

    destination: str
    via: RouteTarget | None
    eni_id: str | None
    instance_id: str | None
    state: str
    origin: str

    @classmethod
    def from_api(cls, raw: RouteTypeDef) -> Route | None:
        """Parse a `Routes` entry; None for a route to a prefix list."""
        destination = raw.get("DestinationCidrBlock") or raw.get("DestinationIpv6CidrBlock")
        if not destination:
            return None
        via = next(
            (RouteTarget(key, str(raw[key])) for key in ROUTE_TARGET_KEYS if raw.get(key)), None
        )
        return cls(
            destination=str(ipaddress.ip_network(destination, strict=False)),
            via=via,
            eni_id=raw.get("NetworkInterfaceId") or None,
            instance_id=raw.get("InstanceId") or None,
            state=raw.get("State", "active"),
            origin=raw.get("Origin", "CreateRoute"),
        )

    @property
    def target(self) -> str | None:
        """The id the route sends traffic to (an ENI id when it has one)."""
        return self.via.target_id if self.via is not None else None


@dataclass(frozen=True)
class RouteTable:
    """A route table of a VPC."""

    route_table_id: str
    vpc_id: str
    routes: tuple[Route, ...]
    tags: Mapping[str, str] = field(default_factory=dict)

    def route(self, destination: str) -> Route | None:
        """The route for `destination` (a CIDR in canonical form), if any."""
        return next((r for r in self.routes if r.destination == destination), None)

    @classmethod
    def from_api(cls, raw: RouteTableTypeDef) -> RouteTable:
        """Parse a `RouteTables` entry of DescribeRouteTables."""
        routes = (Route.from_api(r) for r in raw.get("Routes") or ())
        return cls(
            route_table_id=raw["RouteTableId"],
            vpc_id=raw.get("VpcId", ""),
            routes=tuple(r for r in routes if r is not None),
            tags=tag_dict(raw.get("Tags")),
        )

    def summary(self, destination: str) -> JsonDict:
        """The table's route for `destination`, as results show it."""
        route = self.route(destination)
        return {
            "route_table": self.route_table_id,
            "destination": destination,
            "target": route.target if route else None,
            "state": route.state if route else None,
        }
