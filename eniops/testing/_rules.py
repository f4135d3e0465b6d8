"""EC2's rules where moto is lenient: each operation's checks, and what EC2 does besides.

Written from EC2's documented behaviour, independently of eniops' own checks (nothing here
imports eniops' rules): a mistake there is caught here, not mirrored. `RULES` maps an
operation to the check run before moto sees the call (an `Ec2Error` refuses it);
what EC2 also does once a call succeeded is in `_effects`, the answers moto gets wrong in
`_answers`.
"""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import _errors as errors
from ._errors import Ec2Error
from ._faults import FaultBook
from ._view import AccountView, ips_of

USABLE_STATES = ("running", "stopped")


@dataclass
class Simulation:
    """What the strict layer knows beyond moto: the account view, transitions, and the
    state moto does not keep (an address's private IP, DeleteOnTermination)."""

    view: AccountView
    book: FaultBook
    lock: threading.RLock = field(default_factory=threading.RLock)
    #: allocation id -> the private IP it is associated with (moto always reports the primary).
    private_ips: dict[str, str] = field(default_factory=dict)
    #: attachment id -> DeleteOnTermination (moto ignores the change).
    delete_on_termination: dict[str, bool] = field(default_factory=dict)

    def used_indexes(self, instance: dict[str, Any], card: int) -> set[int]:
        """Device indexes taken on a card: attached ENIs and those still detaching."""
        used = {
            int(n["Attachment"]["DeviceIndex"])
            for n in instance.get("NetworkInterfaces", [])
            if int(n["Attachment"].get("NetworkCardIndex", 0)) == card
        }
        for transition in self.book.running("detaching"):
            if transition.instance_id == instance["InstanceId"]:
                used.add(int(transition.snapshot["Attachment"]["DeviceIndex"]))
        return used


Rule = Callable[[Simulation, dict[str, Any], dict[str, Any]], Ec2Error | None]


def canonical(value: str) -> str:
    """An address as EC2 compares it (IPv6 in its compressed form)."""
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return value


def _is_primary(attachment: dict[str, Any]) -> bool:
    return int(attachment["DeviceIndex"]) == 0 and int(attachment.get("NetworkCardIndex", 0)) == 0


def reserved(cidr: str) -> frozenset[str]:
    """The five addresses AWS keeps in every subnet: network, +1, +2, +3 and broadcast."""
    network = ipaddress.IPv4Network(cidr)
    first = int(network.network_address)
    return frozenset(
        [str(ipaddress.IPv4Address(first + n)) for n in range(4)] + [str(network.broadcast_address)]
    )


def attach(sim: Simulation, params: dict[str, Any], _: dict[str, Any]) -> Ec2Error | None:
    """Same zone and VPC, a free ENI, an instance running or stopped, below its limit, a
    free device index."""
    eni = sim.view.eni(params["NetworkInterfaceId"])
    instance = sim.view.instance(params["InstanceId"])
    if eni is None or instance is None:
        return None  # moto answers NotFound
    eni_id = eni["NetworkInterfaceId"]
    if eni.get("Attachment") or eni.get("Status") != "available" or sim.book.transition(eni_id):
        return errors.interface_in_use(eni_id)
    if instance["State"]["Name"] not in USABLE_STATES:
        return errors.incorrect_instance_state(instance["InstanceId"])
    if eni.get("VpcId") != instance.get("VpcId"):
        return errors.invalid_parameter(
            "The network interface and the instance are in different VPCs"
        )
    if eni.get("AvailabilityZone") != instance["Placement"]["AvailabilityZone"]:
        return errors.invalid_parameter(
            "The network interface and the instance are in different availability zones"
        )
    card = int(params.get("NetworkCardIndex", 0))
    used = sim.used_indexes(instance, card)
    limits = sim.view.limits(instance["InstanceType"])
    cards = {c["NetworkCardIndex"]: c["MaximumNetworkInterfaces"] for c in limits["NetworkCards"]}
    if len(used) >= cards.get(card, limits["MaximumNetworkInterfaces"]):
        return errors.attachment_limit(len(used) + 1, instance["InstanceType"])
    if int(params["DeviceIndex"]) in used:
        return errors.invalid_parameter(
            f"Instance '{instance['InstanceId']}' already has an interface attached at device "
            f"index '{params['DeviceIndex']}'."
        )
    return None


def detach(sim: Simulation, params: dict[str, Any], context: dict[str, Any]) -> Ec2Error | None:
    """The primary interface stays; remember the attachment for the `detaching` transition."""
    eni = sim.view.eni_by_attachment(params["AttachmentId"])
    if eni is None:
        return None  # moto answers InvalidAttachmentID.NotFound
    if _is_primary(eni["Attachment"]):
        return errors.primary_not_detachable()
    context["strict_detaching"] = eni
    return None


def associate(sim: Simulation, params: dict[str, Any], context: dict[str, Any]) -> Ec2Error | None:
    """By InstanceId only on a one-interface instance; the private IP must be the ENI's."""
    allocation_id = params.get("AllocationId")
    if allocation_id:
        before = sim.view.addresses("allocation-id", [allocation_id])
        context["strict_address_before"] = before[0] if before else {}
    if params.get("InstanceId"):
        instance = sim.view.instance(params["InstanceId"])
        if instance and len(instance.get("NetworkInterfaces", [])) > 1:
            return errors.multiple_interfaces(params["InstanceId"])
    eni_id, private_ip = params.get("NetworkInterfaceId"), params.get("PrivateIpAddress")
    if eni_id and private_ip:
        eni = sim.view.eni(eni_id)
        if eni is not None and private_ip not in ips_of(eni):
            return errors.invalid_parameter(
                f"The specified private IP {private_ip} is not assigned to {eni_id}"
            )
    return None


def assign(sim: Simulation, params: dict[str, Any], context: dict[str, Any]) -> Ec2Error | None:
    """Inside the subnet, not reserved, not another ENI's unless reassigned (then it moves),
    within the per-interface limit."""
    eni = sim.view.eni(params["NetworkInterfaceId"])
    if eni is None:
        return None
    subnet = sim.view.subnet(eni["SubnetId"])
    network = ipaddress.IPv4Network(subnet["CidrBlock"])
    current = ips_of(eni)
    new = [ip for ip in params.get("PrivateIpAddresses") or [] if ip not in current]
    neighbours = [
        n
        for n in sim.view.enis_in_subnet(eni["SubnetId"])
        if n["NetworkInterfaceId"] != eni["NetworkInterfaceId"]
    ]
    holders = {ip: n["NetworkInterfaceId"] for n in neighbours for ip in ips_of(n)}
    primaries = {n.get("PrivateIpAddress") for n in neighbours}
    for ip in new:
        if ip in primaries:
            return errors.invalid_parameter(
                f"Address {ip} is the primary private IP of {holders[ip]} and cannot be reassigned"
            )
        if ipaddress.IPv4Address(ip) not in network:
            return errors.invalid_parameter(f"Address {ip} is not in subnet {subnet['CidrBlock']}")
        if ip in reserved(subnet["CidrBlock"]):
            return errors.invalid_parameter(f"Address {ip} is reserved")
        if ip in holders and not params.get("AllowReassignment"):
            return errors.invalid_parameter(f"Address {ip} is in use by {holders[ip]}")
    count = int(params.get("SecondaryPrivateIpAddressCount", 0))
    instance_id = (eni.get("Attachment") or {}).get("InstanceId")
    instance = sim.view.instance(instance_id) if instance_id else None
    if instance is not None:
        limit = sim.view.limits(instance["InstanceType"])["Ipv4AddressesPerInterface"]
        if len(current) + len(new) + count > limit:
            return errors.ip_limit(eni["NetworkInterfaceId"])
    # Reassignment moves the IP (and any Elastic IP on it) instead of duplicating it.
    moves = [(ip, holders[ip]) for ip in new if ip in holders]
    context["strict_moves"] = moves
    for ip, holder in moves:
        sim.view.client.unassign_private_ip_addresses(
            NetworkInterfaceId=holder, PrivateIpAddresses=[ip]
        )
    return None


def assign_ipv6(sim: Simulation, params: dict[str, Any], _: dict[str, Any]) -> Ec2Error | None:
    """Inside the subnet's IPv6 range (a subnet without one refuses), not another ENI's (EC2
    has no reassignment for IPv6), within the per-interface limit: moto checks none."""
    eni = sim.view.eni(params["NetworkInterfaceId"])
    if eni is None:
        return None
    subnet = sim.view.subnet(eni["SubnetId"])
    ranges = [
        ipaddress.IPv6Network(a["Ipv6CidrBlock"])
        for a in subnet.get("Ipv6CidrBlockAssociationSet") or []
        if "associated" in str(a.get("Ipv6CidrBlockState"))
        and "disassociated" not in str(a.get("Ipv6CidrBlockState"))
    ]
    current = ipv6_of(eni)
    new = [str(ipaddress.IPv6Address(ip)) for ip in params.get("Ipv6Addresses") or []]
    new = [ip for ip in new if ip not in current]
    if not ranges and (new or params.get("Ipv6AddressCount")):
        return errors.invalid_parameter(f"Subnet {eni['SubnetId']} has no IPv6 CIDR block")
    holders = {
        ip: n["NetworkInterfaceId"]
        for n in sim.view.enis_in_subnet(eni["SubnetId"])
        if n["NetworkInterfaceId"] != eni["NetworkInterfaceId"]
        for ip in ipv6_of(n)
    }
    # An address unassigned a moment ago is still in use while EC2 settles it.
    settling = {ip for t in sim.book.running("unassigning6") for ip in t.ips}
    for ip in new:
        if not any(ipaddress.IPv6Address(ip) in r for r in ranges):
            return errors.invalid_parameter(f"Address {ip} is not in the subnet's IPv6 CIDR")
        if ip in holders or ip in settling:
            holder = holders.get(ip, "an interface it is being unassigned from")
            return errors.error("InvalidIPAddress.InUse", f"Address {ip} is in use by {holder}")
    instance_id = (eni.get("Attachment") or {}).get("InstanceId")
    instance = sim.view.instance(instance_id) if instance_id else None
    if instance is not None:
        limit = sim.view.limits(instance["InstanceType"]).get("Ipv6AddressesPerInterface", 0)
        if len(current) + len(new) + int(params.get("Ipv6AddressCount", 0)) > limit:
            return errors.ip_limit(eni["NetworkInterfaceId"])
    return None


def unassign_ipv6(sim: Simulation, params: dict[str, Any], _: dict[str, Any]) -> Ec2Error | None:
    """The primary IPv6 stays (moto never marks one; EC2 does)."""
    eni = sim.view.eni(params["NetworkInterfaceId"])
    primary = {
        str(ipaddress.IPv6Address(a["Ipv6Address"]))
        for a in (eni or {}).get("Ipv6Addresses") or []
        if a.get("IsPrimaryIpv6")
    }
    asked = {str(ipaddress.IPv6Address(ip)) for ip in params.get("Ipv6Addresses") or []}
    if primary & asked:
        return errors.invalid_parameter("The primary IPv6 address cannot be unassigned")
    return None


def ipv6_of(eni: dict[str, Any]) -> list[str]:
    """An ENI's IPv6 addresses, canonical."""
    return [
        str(ipaddress.IPv6Address(a["Ipv6Address"]))
        for a in eni.get("Ipv6Addresses") or []
        if a.get("Ipv6Address")
    ]


def unassign(sim: Simulation, params: dict[str, Any], _: dict[str, Any]) -> Ec2Error | None:
    """The primary private IP stays."""
    eni = sim.view.eni(params["NetworkInterfaceId"])
    if eni is not None and eni["PrivateIpAddress"] in (params.get("PrivateIpAddresses") or []):
        return errors.invalid_parameter("The primary private IP address cannot be unassigned")
    return None


def _destination(params: dict[str, Any]) -> str:
    """The route's destination as EC2 names it: an IPv4 or an IPv6 CIDR."""
    return str(params.get("DestinationCidrBlock") or params.get("DestinationIpv6CidrBlock"))


def _route(sim: Simulation, params: dict[str, Any]) -> tuple[bool, dict[str, Any] | None]:
    table = sim.view.route_table(params["RouteTableId"])
    if table is None:
        return False, None
    wanted = ipaddress.ip_network(_destination(params), strict=False)
    routed = any(
        ipaddress.ip_network(found, strict=False) == wanted
        for r in table.get("Routes", [])
        if (found := r.get("DestinationCidrBlock") or r.get("DestinationIpv6CidrBlock"))
    )
    return routed, table


def create_route(sim: Simulation, params: dict[str, Any], _: dict[str, Any]) -> Ec2Error | None:
    """A destination the table routes already is refused (moto overwrites it)."""
    routed, table = _route(sim, params)
    return errors.route_exists(_destination(params)) if routed and table else None


def replace_route(sim: Simulation, params: dict[str, Any], _: dict[str, Any]) -> Ec2Error | None:
    """Only a route that exists can be replaced."""
    routed, table = _route(sim, params)
    if table is not None and not routed:
        return errors.no_route(_destination(params), params["RouteTableId"])
    return None


def terminate(sim: Simulation, params: dict[str, Any], _: dict[str, Any]) -> Ec2Error | None:
    """EC2's termination teardown, before the instance is `terminated`: its Elastic IPs are
    disassociated, its secondary ENIs detached (deleted when DeleteOnTermination)."""
    client = sim.view.client
    for instance_id in params.get("InstanceIds") or []:
        instance = sim.view.instance(instance_id)
        for eni in (instance or {}).get("NetworkInterfaces", []):
            eni_id = eni["NetworkInterfaceId"]
            for address in sim.view.addresses("network-interface-id", [eni_id]):
                client.disassociate_address(AssociationId=address["AssociationId"])
            attachment = eni["Attachment"]
            if (
                int(attachment["DeviceIndex"]) == 0
                and int(attachment.get("NetworkCardIndex", 0)) == 0
            ):
                continue  # the primary goes with the instance
            client.detach_network_interface(AttachmentId=attachment["AttachmentId"], Force=True)
            dot = sim.delete_on_termination.get(attachment["AttachmentId"])
            if dot if dot is not None else attachment.get("DeleteOnTermination"):
                client.delete_network_interface(NetworkInterfaceId=eni_id)
    return None


def reserved_tags(sim: Simulation, params: dict[str, Any], _: dict[str, Any]) -> Ec2Error | None:
    """Tag keys that start with `aws:` are AWS's own (Auto Scaling's group name, say): EC2
    refuses to write or delete them; moto does not."""
    keys = [str(t.get("Key", "")) for t in params.get("Tags") or []]
    if any(key.lower().startswith("aws:") for key in keys):
        return errors.invalid_parameter(
            "Tag keys starting with 'aws:' are reserved for internal use"
        )
    return None


#: Operation -> its check, run before moto sees the call.
RULES: dict[str, Rule] = {
    "CreateTags": reserved_tags,
    "DeleteTags": reserved_tags,
    "AttachNetworkInterface": attach,
    "DetachNetworkInterface": detach,
    "AssociateAddress": associate,
    "AssignPrivateIpAddresses": assign,
    "UnassignPrivateIpAddresses": unassign,
    "AssignIpv6Addresses": assign_ipv6,
    "UnassignIpv6Addresses": unassign_ipv6,
    "CreateRoute": create_route,
    "ReplaceRoute": replace_route,
    "TerminateInstances": terminate,
}
