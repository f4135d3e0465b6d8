"""What EC2 does besides, once a call the strict layer let through succeeded: transitions it
plays (an attachment `attaching` while held), and the state moto does not keep (an
address's private IP, DeleteOnTermination). `EFFECTS` maps an operation to its effect.
Written from EC2's documented behaviour, independently of eniops' own checks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._faults import Transition
from ._rules import Simulation, canonical

Effect = Callable[[Simulation, dict[str, Any], dict[str, Any]], None]


def attached(sim: Simulation, params: dict[str, Any], _: dict[str, Any]) -> None:
    """The attachment shows `attaching` while held."""
    sim.book.start(
        "AttachNetworkInterface",
        params["NetworkInterfaceId"],
        Transition("attaching", 0, 0.0, instance_id=params["InstanceId"]),
    )


def detached(sim: Simulation, params: dict[str, Any], context: dict[str, Any]) -> None:
    """The ENI shows `detaching`, still on its instance, while held."""
    eni = context.get("strict_detaching")
    if eni:
        sim.book.start(
            "DetachNetworkInterface",
            eni["NetworkInterfaceId"],
            Transition(
                "detaching", 0, 0.0, snapshot=eni, instance_id=eni["Attachment"]["InstanceId"]
            ),
        )


def associated(sim: Simulation, params: dict[str, Any], context: dict[str, Any]) -> None:
    """Record the private IP, and disassociate, silently, any other address on it."""
    allocation_id, eni_id = params.get("AllocationId"), params.get("NetworkInterfaceId")
    eni = sim.view.eni(eni_id) if eni_id else None
    if not allocation_id or eni is None:
        return
    private_ip = params.get("PrivateIpAddress", eni["PrivateIpAddress"])
    for other in sim.view.addresses("network-interface-id", [eni["NetworkInterfaceId"]]):
        other_id = other.get("AllocationId") or ""
        other_ip = sim.private_ips.get(other_id, eni["PrivateIpAddress"])
        if other_id != allocation_id and other_ip == private_ip:
            sim.view.client.disassociate_address(AssociationId=other["AssociationId"])
    with sim.lock:
        sim.private_ips[allocation_id] = private_ip
    before = context.get("strict_address_before")
    if before:  # while held, describes show the address where it was
        sim.book.start(
            "AssociateAddress", allocation_id, Transition("associating", 0, 0.0, snapshot=before)
        )


def assigned(sim: Simulation, params: dict[str, Any], context: dict[str, Any]) -> None:
    """An Elastic IP on a reassigned IP follows it; new IPs show late while held."""
    eni_id = params["NetworkInterfaceId"]
    for ip, old_eni in context.get("strict_moves", []):
        for address in sim.view.addresses("network-interface-id", [old_eni]):
            allocation_id = address["AllocationId"]
            if sim.private_ips.get(allocation_id) == ip:
                sim.view.client.associate_address(
                    AllocationId=allocation_id, NetworkInterfaceId=eni_id, AllowReassociation=True
                )
                with sim.lock:
                    sim.private_ips[allocation_id] = ip
    sim.book.start(
        "AssignPrivateIpAddresses",
        eni_id,
        Transition("assigning", 0, 0.0, ips=tuple(params.get("PrivateIpAddresses") or ())),
    )


def _held(operation: str, kind: str, key: str, doc: str) -> Effect:
    """The effect of `operation` on the addresses under `key`: in transition `kind` (shown
    as before, or not yet) while the operation is held."""

    def effect(sim: Simulation, params: dict[str, Any], _: dict[str, Any]) -> None:
        ips = tuple(canonical(ip) for ip in params.get(key) or ())
        transition = Transition(kind, 0, 0.0, ips=ips)
        sim.book.start(operation, params["NetworkInterfaceId"], transition)

    effect.__doc__ = doc
    return effect


unassigned = _held(
    "UnassignPrivateIpAddresses",
    "unassigning",
    "PrivateIpAddresses",
    "Removed IPs still show while held.",
)
ipv6_assigned = _held(
    "AssignIpv6Addresses", "assigning6", "Ipv6Addresses", "New IPv6 addresses show late while held."
)
ipv6_unassigned = _held(
    "UnassignIpv6Addresses",
    "unassigning6",
    "Ipv6Addresses",
    "Removed IPv6 addresses still show, and are still in use, while held.",
)


def modified(sim: Simulation, params: dict[str, Any], _: dict[str, Any]) -> None:
    """DeleteOnTermination of an attachment (moto ignores it)."""
    attachment = params.get("Attachment") or {}
    if "AttachmentId" in attachment and "DeleteOnTermination" in attachment:
        with sim.lock:
            sim.delete_on_termination[attachment["AttachmentId"]] = bool(
                attachment["DeleteOnTermination"]
            )


#: Operation -> what EC2 does besides once the call succeeded.
EFFECTS: dict[str, Effect] = {
    "AttachNetworkInterface": attached,
    "DetachNetworkInterface": detached,
    "AssociateAddress": associated,
    "AssignPrivateIpAddresses": assigned,
    "UnassignPrivateIpAddresses": unassigned,
    "AssignIpv6Addresses": ipv6_assigned,
    "UnassignIpv6Addresses": ipv6_unassigned,
    "ModifyNetworkInterfaceAttribute": modified,
}
