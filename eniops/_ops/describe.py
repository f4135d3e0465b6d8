"""`describe`: what an operator needs to see before a move."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from .._core import _inputs
from .._core._json import JsonDict
from .._core._threads import at_once
from .._state._model import Address, Eni, Instance, Limits
from .._state._reads import Reader
from .._state._routes import RouteTable
from .._state._tags import HOLDER_TAG
from . import _placing as placing
from ._operation import READ, Common, start

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client
    from typing_extensions import Unpack

    from .._core._keywords import ReadKeywords
    from .._state._descriptions import (
        AddressDescription,
        Description,
        EniDescription,
        InstanceDescription,
    )


def describe(resource_id: str, **common: Unpack[ReadKeywords]) -> Description:
    """Describe an instance, ENI or Elastic IP: attachments, IPs, Elastic IPs, limits, free
    slots, the routes that target its ENIs, and the tags eniops wrote (a pending move).

    Args:
        resource_id: an instance id, an ENI id, or an Elastic IP (allocation id or address).
        **common: the keywords of a read (`eniops.ReadKeywords`): ec2, session, region,
            timeout (default 30 s), role_arn, external_id. It changes nothing: no `mode`, no
            `require_tag`.

    Returns:
        A `Description` (`InstanceDescription`, `EniDescription` or `AddressDescription`,
        told apart by its ``"kind"``), typed for `mypy --strict`.

    Raises:
        InvalidInput; NotFound; AwsError; OperationTimeout.
    """
    keywords = Common.of("describe", common, timeout_s=30.0, allowed=READ, mode="plan")
    kind, ident = _inputs.resource(resource_id)
    reader = start("describe", keywords).reader
    if kind == "eip":
        address = reader.address(_inputs.eip(ident))
        view = {"kind": "eip", "id": address.allocation_id, **address.summary()}
        return cast("AddressDescription", {**view, "tags": dict(address.tags)})
    if kind == "eni":
        return _eni_view(reader, reader.eni(ident))
    return _instance_view(reader, reader.instance(ident))


def instance_tags(
    instance_id: str,
    *,
    ec2: EC2Client | None = None,
    timeout: float = 30.0,
) -> dict[str, str]:
    """An instance's tags: one DescribeInstances within `timeout` (the Lambda's standby)."""
    ident = _inputs.instance_id(instance_id, "instance")
    keywords = Common.of("describe", {"ec2": ec2}, timeout_s=timeout, allowed=READ, mode="plan")
    return dict(start("describe", keywords).reader.instance(ident).tags)


def _eni_view(reader: Reader, eni: Eni) -> EniDescription:
    instance_id = eni.instance_id
    addresses, instance, tables = at_once(
        lambda: reader.addresses_on([eni.eni_id]),
        lambda: reader.instance(instance_id) if instance_id else None,
        lambda: reader.route_tables(vpc_id=eni.vpc_id),
    )
    limits = reader.limits(instance.instance_type) if instance else None
    view = {
        "kind": "eni",
        "id": eni.eni_id,
        **_eni_line(eni, addresses, limits),
        "vpc": eni.vpc_id,
        "interface_type": eni.interface_type,
        "requester_managed": eni.requester_managed,
        "source_dest_check": eni.source_dest_check,
        "routes": _routes_to([eni.eni_id], tables),
        "tags": dict(eni.tags),
    }
    return cast("EniDescription", view)


def _instance_view(reader: Reader, instance: Instance) -> InstanceDescription:
    eni_ids = [e.eni_id for e in instance.enis]
    limits, addresses, enis, tables = at_once(
        lambda: reader.limits(instance.instance_type),
        lambda: reader.addresses_on(eni_ids),
        lambda: reader.enis_where("attachment.instance-id", [instance.instance_id]),
        lambda: reader.route_tables(vpc_id=instance.vpc_id) if instance.vpc_id else [],
    )
    instance = instance.with_enis({e.eni_id: e for e in enis})
    free = placing.free_device_indexes(instance, limits)
    view = {
        "kind": "instance",
        "id": instance.instance_id,
        "state": instance.state,
        "instance_type": instance.instance_type,
        "availability_zone": instance.availability_zone,
        "vpc": instance.vpc_id,
        "limits": {
            "max_enis": limits.max_enis,
            "max_enis_card_0": limits.max_on_card(0),
            "ipv4_per_eni": limits.ipv4_per_eni,
            "ipv6_per_eni": limits.ipv6_per_eni,
        },
        "free": {"eni_slots": len(free), "device_indexes": free},
        "enis": [
            _eni_line(e, addresses, limits)
            for e in sorted(
                instance.enis,
                key=lambda e: (
                    e.attachment.network_card_index if e.attachment else 0,
                    e.attachment.device_index if e.attachment else 0,
                ),
            )
        ],
        "routes": _routes_to(eni_ids, tables),
        "tags": dict(instance.tags),
    }
    return cast("InstanceDescription", view)


def _eni_line(eni: Eni, addresses: list[Address], limits: Limits | None) -> JsonDict:
    eips = [
        {"public_ip": a.public_ip, "allocation_id": a.allocation_id, "private_ip": a.private_ip}
        for a in addresses
        if a.eni_id == eni.eni_id
    ]
    view = {**eni.summary(), "elastic_ips": eips, "holder_tag": eni.tags.get(HOLDER_TAG)}
    if limits is not None:
        view["free_ip_slots"] = max(0, limits.ipv4_per_eni - len(eni.private_ips))
        view["free_ipv6_slots"] = max(0, limits.ipv6_per_eni - len(eni.ipv6_addresses))
    return view


def _routes_to(eni_ids: list[str], tables: list[RouteTable]) -> list[JsonDict]:
    """The routes (in the VPC's tables) whose target is one of these ENIs."""
    wanted = set(eni_ids)
    return [
        {**table.summary(route.destination), "eni": route.eni_id}
        for table in tables
        for route in table.routes
        if route.eni_id in wanted
    ]
