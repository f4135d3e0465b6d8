"""What EC2's describes would show that moto's do not: transitions still running,
DeleteOnTermination, an address's private IP and instance.

`PATCHES` maps a describe operation to the function that edits its parsed answer.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from ._rules import Simulation
from ._view import ips_of

Patch = Callable[[Simulation, dict[str, Any], dict[str, Any]], None]


def _dot(sim: Simulation, entry: dict[str, Any]) -> None:
    attachment = entry.get("Attachment") or {}
    flag = sim.delete_on_termination.get(attachment.get("AttachmentId", ""))
    if flag is not None:
        attachment["DeleteOnTermination"] = flag


def _in_transition(sim: Simulation, entry: dict[str, Any]) -> dict[str, Any]:
    """`entry` as EC2 shows it while its ENI's transition runs (the entry itself, edited)."""
    transition = sim.book.transition(entry["NetworkInterfaceId"])
    if transition is None:
        return entry
    if transition.kind == "detaching":
        shown = copy.deepcopy(transition.snapshot)
        shown["Status"] = "in-use"
        shown["Attachment"]["Status"] = "detaching"
        if "TagSet" in entry:  # the tags now (DescribeInstances shows none)
            shown["TagSet"] = entry["TagSet"]
        else:
            shown.pop("TagSet", None)
        entry.clear()
        entry.update(shown)
    elif transition.kind == "attaching":
        entry["Status"] = "attaching"
        if entry.get("Attachment"):
            entry["Attachment"]["Status"] = "attaching"
    elif transition.kind == "assigning":
        entry["PrivateIpAddresses"] = [
            p
            for p in entry.get("PrivateIpAddresses", [])
            if p["PrivateIpAddress"] not in transition.ips
        ]
    elif transition.kind == "unassigning":
        entry["PrivateIpAddresses"] = entry.get("PrivateIpAddresses", []) + [
            {"Primary": False, "PrivateIpAddress": ip} for ip in transition.ips
        ]
    elif transition.kind == "assigning6":
        entry["Ipv6Addresses"] = [
            a for a in entry.get("Ipv6Addresses", []) if a.get("Ipv6Address") not in transition.ips
        ]
    elif transition.kind == "unassigning6":
        listed = {a.get("Ipv6Address") for a in entry.get("Ipv6Addresses", [])}
        entry["Ipv6Addresses"] = entry.get("Ipv6Addresses", []) + [
            {"Ipv6Address": ip, "IsPrimaryIpv6": False} for ip in transition.ips if ip not in listed
        ]
    sim.book.polled(transition)
    return entry


def _asked_for(params: dict[str, Any]) -> tuple[set[str], set[str]]:
    """The ENI ids and the instance ids a DescribeNetworkInterfaces call names."""
    enis = set(params.get("NetworkInterfaceIds") or [])
    instances: set[str] = set()
    for f in params.get("Filters") or []:
        if f.get("Name") == "network-interface-id":
            enis.update(f.get("Values") or [])
        elif f.get("Name") == "attachment.instance-id":
            instances.update(f.get("Values") or [])
    return enis, instances


def network_interfaces(sim: Simulation, params: dict[str, Any], parsed: dict[str, Any]) -> None:
    """Transitions and DeleteOnTermination; an ENI still detaching is still shown."""
    entries = parsed.setdefault("NetworkInterfaces", [])
    shown = {e["NetworkInterfaceId"] for e in entries}
    enis, instances = _asked_for(params)
    for transition in sim.book.running("detaching"):
        snapshot = transition.snapshot
        eni_id = snapshot["NetworkInterfaceId"]
        if eni_id not in shown and (eni_id in enis or transition.instance_id in instances):
            entries.append({"NetworkInterfaceId": eni_id, "TagSet": _tags_now(sim, eni_id)})
    for entry in entries:
        _dot(sim, _in_transition(sim, entry))


def _tags_now(sim: Simulation, eni_id: str) -> list[dict[str, str]]:
    found = sim.view.eni(eni_id)
    return list((found or {}).get("TagSet", []))


def instances(sim: Simulation, params: dict[str, Any], parsed: dict[str, Any]) -> None:
    """An ENI detaching still shows on its instance; attachments as above."""
    detaching = sim.book.running("detaching")
    for reservation in parsed.get("Reservations", []):
        for instance in reservation.get("Instances", []):
            if (instance.get("State") or {}).get("Name") == "terminated":
                instance["NetworkInterfaces"] = []  # its primary ENI went with it
                continue
            entries = instance.setdefault("NetworkInterfaces", [])
            shown = {e["NetworkInterfaceId"] for e in entries}
            for transition in detaching:
                eni_id = transition.snapshot["NetworkInterfaceId"]
                if transition.instance_id == instance["InstanceId"] and eni_id not in shown:
                    entries.append({"NetworkInterfaceId": eni_id})
            for entry in entries:
                _dot(sim, _in_transition(sim, entry))


def addresses(sim: Simulation, params: dict[str, Any], parsed: dict[str, Any]) -> None:
    """The private IP an address is on, and its ENI's instance (moto shows neither right)."""
    for address in parsed.get("Addresses", []):
        transition = sim.book.transition(address.get("AllocationId", ""))
        if transition is not None and transition.snapshot:
            address.clear()
            address.update(copy.deepcopy(transition.snapshot))
            sim.book.polled(transition)
        eni_id = address.get("NetworkInterfaceId")
        if not eni_id:
            address.pop("InstanceId", None)
            address.pop("PrivateIpAddress", None)
            continue
        eni = sim.view.eni(eni_id)
        private_ip = sim.private_ips.get(address.get("AllocationId", ""))
        if private_ip and eni is not None and private_ip in ips_of(eni):
            address["PrivateIpAddress"] = private_ip
        elif eni is not None:  # moved by a way that left no record: it is on the primary IP
            address["PrivateIpAddress"] = eni["PrivateIpAddress"]
        instance_id = ((eni or {}).get("Attachment") or {}).get("InstanceId")
        if instance_id:
            address["InstanceId"] = instance_id
        else:
            address.pop("InstanceId", None)


#: Describe operation -> how EC2 would show its answer.
PATCHES: dict[str, Patch] = {
    "DescribeNetworkInterfaces": network_interfaces,
    "DescribeInstances": instances,
    "DescribeAddresses": addresses,
}
