"""Typed reads of EC2 state over the gateway, and the caches of facts that never change.

Instance-type limits and subnet ranges never change, so they are cached; the cache belongs
to the client (a Lambda execution environment's client keeps it across invocations, and a
new client starts empty). Reads by id raise `NotFound`; the poller's batch reads use filters,
which simply leave out what does not exist.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from .._core._errors import NotFound
from .._core._inputs import EipRef
from .._core._json import JsonDict
from .._gateway import Gateway, pages
from ._instance_types import shipped
from ._model import Address, Eni, Instance, InstanceStatus, Limits, Subnet
from ._routes import RouteTable
from ._views import Kind, PrivateIp, ResourceId, RouteRef, State

if TYPE_CHECKING:
    from botocore.client import BaseClient

T = TypeVar("T")


@dataclass
class _Cache:
    """What one client has read that never changes."""

    limits: dict[str, Limits] = field(default_factory=dict)  # by instance type
    subnets: dict[str, Subnet] = field(default_factory=dict)  # by subnet id


_caches: weakref.WeakKeyDictionary[BaseClient, _Cache] = weakref.WeakKeyDictionary()
_caches_lock = threading.Lock()


def _cache_of(client: BaseClient) -> _Cache:
    with _caches_lock:
        try:
            return _caches.setdefault(client, _Cache())
        except TypeError:  # a client that cannot be weakly referenced: no cache
            return _Cache()


def clear_caches() -> None:
    """Forget every cached instance-type limit and subnet range."""
    with _caches_lock:
        _caches.clear()


class _Reads:
    """What every family of reads shares: the operation's gateway and the client's cache."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self._cache = _cache_of(gateway.client)


class _AddressReads(_Reads):
    """Elastic IPs."""

    def addresses(self) -> list[Address]:
        """Every Elastic IP of the region: one call (accounts hold few)."""
        response = self.gateway.call("DescribeAddresses", {})
        return [Address.from_api(a) for a in response.get("Addresses", [])]

    def address(self, ref: EipRef) -> Address:
        """One Elastic IP by allocation id or public IP."""
        params: JsonDict = (
            {"AllocationIds": [ref.allocation_id]}
            if ref.allocation_id
            else {"PublicIps": [ref.public_ip]}
        )
        response = self.gateway.call("DescribeAddresses", params, first_read=True)
        found = [Address.from_api(a) for a in response.get("Addresses", [])]
        if not found:
            raise NotFound(f"Elastic IP {ref} does not exist", details={"eip": str(ref)})
        return found[0]

    def addresses_on(self, eni_ids: Iterable[str]) -> list[Address]:
        """The Elastic IPs associated with any of these ENIs."""
        ids = sorted(set(eni_ids))
        if not ids:
            return []
        response = self.gateway.call(
            "DescribeAddresses", {"Filters": [{"Name": "network-interface-id", "Values": ids}]}
        )
        return [Address.from_api(a) for a in response.get("Addresses", [])]


class _EniReads(_Reads):
    """Network interfaces."""

    def enis(self, eni_ids: Sequence[str]) -> dict[str, Eni]:
        """ENIs by id (every one must exist)."""
        wanted = list(dict.fromkeys(eni_ids))
        response = self.gateway.call(
            "DescribeNetworkInterfaces", {"NetworkInterfaceIds": wanted}, first_read=True
        )
        found = {n["NetworkInterfaceId"]: Eni.from_api(n) for n in response["NetworkInterfaces"]}
        missing = [i for i in wanted if i not in found]
        if missing:
            raise NotFound(f"ENI {', '.join(missing)} does not exist", details={"missing": missing})
        return found

    def eni(self, eni_id: str) -> Eni:
        """One ENI by id."""
        return self.enis([eni_id])[eni_id]

    def enis_where(self, name: str, values: Sequence[str]) -> list[Eni]:
        """ENIs matching one filter (e.g. ``tag-key``, ``attachment.instance-id``)."""
        if not values:
            return []
        params = {"Filters": [{"Name": name, "Values": list(values)}]}
        return [
            Eni.from_api(n)
            for n in pages(self.gateway, "DescribeNetworkInterfaces", params, "NetworkInterfaces")
        ]

    def used_device_indexes(self, instance_id: str, network_card_index: int = 0) -> set[int]:
        """The device indexes an instance's ENIs take now on one network card."""
        found = self.enis_where("attachment.instance-id", [instance_id])
        return {
            e.attachment.device_index
            for e in found
            if e.attachment is not None and e.attachment.network_card_index == network_card_index
        }


class _InstanceReads(_Reads):
    """Instances, their types' limits and their subnets' ranges (the last two cached)."""

    def instances(self, instance_ids: Sequence[str]) -> dict[str, Instance]:
        """Instances by id (every one must exist), with their attached ENIs."""
        wanted = list(dict.fromkeys(instance_ids))
        response = self.gateway.call("DescribeInstances", {"InstanceIds": wanted}, first_read=True)
        found = {
            raw["InstanceId"]: Instance.from_api(raw)
            for reservation in response.get("Reservations", [])
            for raw in reservation.get("Instances", [])
        }
        missing = [i for i in wanted if i not in found]
        if missing:
            raise NotFound(
                f"instance {', '.join(missing)} does not exist", details={"missing": missing}
            )
        return found

    def instance(self, instance_id: str) -> Instance:
        """One instance by id."""
        return self.instances([instance_id])[instance_id]

    def instance_of_eni(self, eni_id: str) -> Instance | None:
        """The instance an ENI is attached to (None: none), read by the ENI's id, so that
        it rides with the read of the ENI itself."""
        by_eni = {"Name": "network-interface.network-interface-id", "Values": [eni_id]}
        params = {"Filters": [by_eni]}
        response = self.gateway.call("DescribeInstances", params)
        found = [
            Instance.from_api(raw)
            for reservation in response.get("Reservations", [])
            for raw in reservation.get("Instances", [])
        ]
        return found[0] if found else None

    def instance_status(self, instance_id: str) -> InstanceStatus | None:
        """An instance's status checks (whatever its state); None if EC2 shows none."""
        response = self.gateway.call(
            "DescribeInstanceStatus", {"InstanceIds": [instance_id], "IncludeAllInstances": True}
        )
        found = [InstanceStatus.from_api(raw) for raw in response.get("InstanceStatuses") or ()]
        return next((s for s in found if s.instance_id == instance_id), None)

    def limits(self, instance_type: str) -> Limits:
        """An instance type's network limits: the shipped table's, else read (and cached:
        they never change)."""
        known = shipped(instance_type)
        if known is not None:
            return known
        cached = self._cache.limits.get(instance_type)
        if cached is not None:
            return cached
        response = self.gateway.call("DescribeInstanceTypes", {"InstanceTypes": [instance_type]})
        types = response.get("InstanceTypes") or []
        if not types:
            raise NotFound(
                f"instance type {instance_type} is unknown", details={"type": instance_type}
            )
        limits = Limits.from_api(types[0])
        self._cache.limits[instance_type] = limits
        return limits

    def subnet(self, subnet_id: str) -> Subnet:
        """A subnet's range (cached: it never changes)."""
        cached = self._cache.subnets.get(subnet_id)
        if cached is not None:
            return cached
        response = self.gateway.call("DescribeSubnets", {"SubnetIds": [subnet_id]}, first_read=True)
        subnet = Subnet.from_api(response["Subnets"][0])
        self._cache.subnets[subnet_id] = subnet
        return subnet


class _RouteReads(_Reads):
    """Route tables."""

    def route_tables(
        self,
        *,
        route_table_ids: Sequence[str] = (),
        vpc_id: str | None = None,
        destination: str | None = None,
    ) -> list[RouteTable]:
        """Route tables by id (every one must exist), or those matching the filters (of one
        VPC, with a route for `destination`), or every one of the region."""
        if route_table_ids:
            wanted = list(dict.fromkeys(route_table_ids))
            response = self.gateway.call(
                "DescribeRouteTables", {"RouteTableIds": wanted}, first_read=True
            )
            tables = [RouteTable.from_api(t) for t in response.get("RouteTables", [])]
            missing = [i for i in wanted if i not in {t.route_table_id for t in tables}]
            if missing:
                raise NotFound(
                    f"route table {', '.join(missing)} does not exist",
                    details={"missing": missing},
                )
            return tables
        filters = []
        if vpc_id:
            filters.append({"Name": "vpc-id", "Values": [vpc_id]})
        if destination:
            key = (
                "route.destination-ipv6-cidr-block"
                if ":" in destination
                else "route.destination-cidr-block"
            )
            filters.append({"Name": key, "Values": [destination]})
        params: JsonDict = {"Filters": filters} if filters else {}
        return [
            RouteTable.from_api(t)
            for t in pages(self.gateway, "DescribeRouteTables", params, "RouteTables")
        ]


class Reader(_AddressReads, _EniReads, _InstanceReads, _RouteReads):
    """Reads of one operation, through its gateway."""

    def current(self, kind: Kind, ids: Sequence[ResourceId]) -> dict[ResourceId, State]:
        """The present state of resources of one kind, by their identity (an ENI or an
        allocation id, a `RouteRef`, or a `PrivateIp`: the ENI that holds it); one describe."""
        wanted = sorted(set(ids), key=str)
        if kind == "route-table":
            return self._current_routes([r for r in wanted if isinstance(r, RouteRef)])
        if kind == "private-ip":
            return self._current_holders([p for p in wanted if isinstance(p, PrivateIp)])
        names = [i for i in wanted if isinstance(i, str)]
        if kind == "address":
            response = self.gateway.call(
                "DescribeAddresses", {"Filters": [{"Name": "allocation-id", "Values": names}]}
            )
            found = (Address.from_api(raw) for raw in response.get("Addresses", []))
            return {a.allocation_id: a for a in found}
        return {e.eni_id: e for e in self.enis_where("network-interface-id", names)}

    def _current_routes(self, ids: list[RouteRef]) -> dict[ResourceId, State]:
        tables = sorted({r.route_table_id for r in ids})
        params = {"Filters": [{"Name": "route-table-id", "Values": tables}]}
        found = {
            t.route_table_id: t
            for t in (
                RouteTable.from_api(raw)
                for raw in pages(self.gateway, "DescribeRouteTables", params, "RouteTables")
            )
        }
        return {r: found[r.route_table_id] for r in ids if r.route_table_id in found}

    def _current_holders(self, ids: list[PrivateIp]) -> dict[ResourceId, State]:
        subnets = sorted({p.subnet_id for p in ids})
        holders = {
            PrivateIp(eni.subnet_id, ip): eni
            for eni in self.enis_where("subnet-id", subnets)
            for ip in (*eni.private_ips, *eni.ipv6_addresses)
        }
        return {p: holders[p] for p in ids if p in holders}
