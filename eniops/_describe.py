"""`describe`: what an operator needs to see before a move."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import _inputs
from ._gateway import Gateway
from ._model import Address, Eni, Instance, Limits
from ._operation import open_context
from ._result import Mode

if TYPE_CHECKING:
    import boto3
    from mypy_boto3_ec2 import EC2Client


def describe(
    resource_id: str,
    *,
    ec2: EC2Client | None = None,
    session: boto3.session.Session | None = None,
    region: str | None = None,
    timeout: float = 30.0,
    mode: Mode = "apply",
    require_tag: str | None = None,
) -> dict[str, Any]:
    """Describe an instance, ENI or Elastic IP: attachments, IPs, Elastic IPs, limits, free slots.

    Reads only: every mode is the same, and there is nothing for `require_tag` to guard
    (both are accepted, and checked for form, like every operation's common keywords).

    Raises:
        InvalidInput; NotFound; AwsError; OperationTimeout.
    """
    kind, ident = _inputs.resource(resource_id)
    ctx = open_context(
        "describe",
        mode="plan",
        ec2=ec2,
        session=session,
        region=region,
        timeout=timeout,
        require_tag=None,
    )
    gw = ctx.gateway
    if kind == "eip":
        address = gw.address(_inputs.eip(ident))
        return {
            "kind": "eip",
            "id": address.allocation_id,
            **address.summary(),
            "tags": dict(address.tags),
        }
    if kind == "eni":
        eni = gw.eni(ident)
        instance_id = eni.instance_id
        addresses, instance = gw.concurrently(
            lambda: gw.addresses_on([eni.eni_id]),
            lambda: gw.instance(instance_id) if instance_id else None,
        )
        limits = gw.limits(instance.instance_type) if instance else None
        return {
            "kind": "eni",
            "id": eni.eni_id,
            **_eni_view(eni, addresses, limits),
            "vpc": eni.vpc_id,
            "interface_type": eni.interface_type,
            "requester_managed": eni.requester_managed,
            "tags": dict(eni.tags),
        }
    return _instance_view(gw, gw.instance(ident))


def _instance_view(gw: Gateway, instance: Instance) -> dict[str, Any]:
    limits, addresses = gw.concurrently(
        lambda: gw.limits(instance.instance_type),
        lambda: gw.addresses_on([e.eni_id for e in instance.enis]),
    )
    used = instance.used_device_indexes(0)
    maximum = limits.max_on_card(0)
    return {
        "kind": "instance",
        "id": instance.instance_id,
        "state": instance.state,
        "instance_type": instance.instance_type,
        "availability_zone": instance.availability_zone,
        "vpc": instance.vpc_id,
        "limits": {
            "max_enis": limits.max_enis,
            "max_enis_card_0": maximum,
            "ipv4_per_eni": limits.ipv4_per_eni,
        },
        "free": {
            "eni_slots": max(0, maximum - len(used)),
            "device_indexes": [i for i in range(1, 32) if i not in used][
                : max(0, maximum - len(used))
            ],
        },
        "enis": [
            _eni_view(e, addresses, limits)
            for e in sorted(
                instance.enis,
                key=lambda e: (
                    e.attachment.network_card_index if e.attachment else 0,
                    e.attachment.device_index if e.attachment else 0,
                ),
            )
        ],
        "tags": dict(instance.tags),
    }


def _eni_view(eni: Eni, addresses: list[Address], limits: Limits | None) -> dict[str, Any]:
    eips = [
        {"public_ip": a.public_ip, "allocation_id": a.allocation_id, "private_ip": a.private_ip}
        for a in addresses
        if a.eni_id == eni.eni_id
    ]
    view = {**eni.summary(), "elastic_ips": eips}
    if limits is not None:
        view["free_ip_slots"] = max(0, limits.ipv4_per_eni - len(eni.private_ips))
    return view
