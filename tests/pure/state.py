"""Hand-built EC2 state for the pure tests: no AWS, no moto."""

from __future__ import annotations

from eniops._state._model import Address, Attachment, Eni, Instance, Limits, Subnet
from eniops._state._routes import Route, RouteTable, RouteTarget

SUBNET = Subnet("subnet-0123abcd", "10.0.1.0/24", "us-east-1a", "vpc-0123abcd")
LIMITS = Limits("t3.large", max_enis=3, max_enis_per_card={0: 3}, ipv4_per_eni=4)
BIG = Limits("m5.24xlarge", max_enis=15, max_enis_per_card={0: 15}, ipv4_per_eni=50)


def eni(
    eni_id="eni-0000000a",
    *,
    index=None,
    instance="i-0000000a",
    status="attached",
    subnet="subnet-0123abcd",
    az="us-east-1a",
    vpc="vpc-0123abcd",
    ips=("10.0.1.10",),
    kind="interface",
    managed=False,
    card=0,
    dot=False,
    tags=None,
    source_dest_check=True,
):
    """An ENI; with `index` attached to `instance` in attachment state `status`."""
    attachment = None
    if index is not None:
        attachment = Attachment(f"eni-attach-{eni_id[4:]}", instance, index, card, status, dot)
    return Eni(
        eni_id,
        subnet,
        vpc,
        az,
        "in-use" if attachment else "available",
        kind,
        managed,
        ips[0],
        tuple(ips),
        {},
        attachment,
        dict(tags or {}),
        source_dest_check,
    )


def instance(
    *enis,
    state="running",
    az="us-east-1a",
    vpc="vpc-0123abcd",
    iid="i-0000000b",
    kind="t3.large",
    private_ip=None,
):
    """An instance with these ENIs attached (`private_ip`: what EC2 reports once torn down)."""
    primary = next((e for e in enis if e.attachment and e.attachment.is_primary), None)
    ip = private_ip or (primary.primary_ip if primary else None)
    return Instance(iid, state, kind, az, vpc, tuple(enis), {"env": "prod"}, ip)


def address(
    allocation="eipalloc-0000000a",
    *,
    on=None,
    ip=None,
    instance=None,
    tags=None,
    public="203.0.113.10",
):
    """An Elastic IP, associated with ENI `on` at private IP `ip` when given."""
    return Address(
        allocation,
        public,
        f"eipassoc-{allocation[9:]}" if on else None,
        on,
        instance if on else None,
        ip if on else None,
        dict(tags or {}),
    )


def route(destination, target):
    """A route to `target`: an ENI id, or any other target id (``nat-…``, ``tgw-…``, …)."""
    key = {
        "eni": "NetworkInterfaceId",
        "i": "InstanceId",
        "nat": "NatGatewayId",
        "tgw": "TransitGatewayId",
        "pcx": "VpcPeeringConnectionId",
    }.get(target.split("-")[0], "GatewayId")
    eni_id = target if key == "NetworkInterfaceId" else None
    return Route(destination, RouteTarget(key, target), eni_id, None, "active", "CreateRoute")


def table(table_id="rtb-0000000a", *routes, vpc="vpc-0123abcd"):
    """A route table with (destination, target) routes."""
    return RouteTable(table_id, vpc, tuple(route(d, t) for d, t in routes))
