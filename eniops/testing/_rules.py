"""EC2's rules where moto is lenient: each operation's checks, and what EC2 does besides.

Written from EC2's documented behaviour, independently of eniops' own checks (nothing here
imports eniops' rules): a mistake there is caught here, not mirrored. `RULES` maps an
operation to the check run before moto sees the call (an `Ec2Error` refuses it);
`EFFECTS` maps an operation to what EC2 also does once the call succeeded.
"""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from . import _errors as errors
from ._errors import Ec2Error
from ._faults import FaultBook, Transition
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


# -- what EC2 does besides, once a call succeeded -------------------------------------------

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
        ips = tuple(_address(ip) for ip in params.get(key) or ())
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


# -- answers moto gets wrong, given as EC2 gives them --------------------------------------

Answer = Callable[[Simulation, dict[str, Any]], dict[str, Any] | None]
#: Filters whose attribute is a list (an ENI's tag keys): moto matches several values as a
#: subset or superset of the list; EC2 matches any of them.
LIST_FILTERS = frozenset({"tag-key"})


def describe_any_of(sim: Simulation, params: dict[str, Any]) -> dict[str, Any] | None:
    """DescribeNetworkInterfaces with several values of a list filter: the union of one
    query per value (EC2's "any of"), or None when moto answers right by itself."""
    filters = params.get("Filters") or []
    split = next(
        (f for f in filters if f.get("Name") in LIST_FILTERS and len(f.get("Values") or []) > 1),
        None,
    )
    if split is None:
        return None
    others = [f for f in filters if f is not split]
    found: dict[str, Any] = {}
    for value in split["Values"]:
        query = {**params, "Filters": [*others, {"Name": split["Name"], "Values": [value]}]}
        query.pop("NextToken", None)
        for entry in sim.view.client.describe_network_interfaces(**query)["NetworkInterfaces"]:
            found.setdefault(entry["NetworkInterfaceId"], entry)
    return {"NetworkInterfaces": list(found.values()), "ResponseMetadata": {"HTTPStatusCode": 200}}


#: ENI filters on every private IP of an ENI (which moto matches on its primary IP only,
#: or does not implement), and the addresses of an ENI each one matches.
IP_FILTERS: dict[str, Callable[[Mapping[str, Any]], set[str]]] = {
    "addresses.private-ip-address": lambda e: {
        p["PrivateIpAddress"] for p in e.get("PrivateIpAddresses", [])
    },
    "private-ip-address": lambda e: {
        p["PrivateIpAddress"] for p in e.get("PrivateIpAddresses", [])
    },
    "ipv6-addresses.ipv6-address": lambda e: {
        str(ipaddress.IPv6Address(a["Ipv6Address"])) for a in e.get("Ipv6Addresses", [])
    },
}


def describe_by_private_ip(sim: Simulation, params: dict[str, Any]) -> dict[str, Any] | None:
    """DescribeNetworkInterfaces filtered by private IP or IPv6 address: EC2 matches any
    address of an ENI, secondary ones included; the rest of the query as moto answers it."""
    filters = params.get("Filters") or []
    by_ip = [f for f in filters if f.get("Name") in IP_FILTERS]
    if not by_ip:
        return describe_any_of(sim, params)
    query = _rest_of(params, by_ip)
    answer = describe_any_of(sim, query) or sim.view.client.describe_network_interfaces(**query)
    wanted = [(IP_FILTERS[f["Name"]], {_address(v) for v in f.get("Values") or []}) for f in by_ip]
    found = [
        entry
        for entry in answer["NetworkInterfaces"]
        if all(values & on(entry) for on, values in wanted)
    ]
    return {"NetworkInterfaces": found, "ResponseMetadata": {"HTTPStatusCode": 200}}


def _rest_of(params: dict[str, Any], answered: list[Any]) -> dict[str, Any]:
    """The query without the filters answered here (and without a page token: the answer
    is one page), for moto to answer."""
    query = {**params, "Filters": [f for f in params.get("Filters") or [] if f not in answered]}
    query.pop("NextToken", None)
    if not query["Filters"]:
        query.pop("Filters")
    return query


def _address(value: str) -> str:
    """An address as EC2 compares it (IPv6 in its compressed form)."""
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return value


#: Operation -> an answer given in moto's place when moto would answer wrongly.
def describe_by_ipv6_destination(sim: Simulation, params: dict[str, Any]) -> dict[str, Any] | None:
    """DescribeRouteTables filtered by an IPv6 route destination, which EC2 answers and moto
    does not implement; the rest of the query as moto answers it."""
    filters = params.get("Filters") or []
    by_v6 = [f for f in filters if f.get("Name") == "route.destination-ipv6-cidr-block"]
    if not by_v6:
        return None
    query = _rest_of(params, by_v6)
    answer = sim.view.client.describe_route_tables(**query)
    wanted = [
        {str(ipaddress.ip_network(v, strict=False)) for v in f.get("Values") or []} for f in by_v6
    ]
    found = [
        table
        for table in answer["RouteTables"]
        if all(
            values
            & {
                str(ipaddress.ip_network(r["DestinationIpv6CidrBlock"], strict=False))
                for r in table.get("Routes", [])
                if r.get("DestinationIpv6CidrBlock")
            }
            for values in wanted
        )
    ]
    return {"RouteTables": found, "ResponseMetadata": {"HTTPStatusCode": 200}}


def describe_instances_by_eni(sim: Simulation, params: dict[str, Any]) -> dict[str, Any] | None:
    """DescribeInstances filtered by `network-interface.network-interface-id`, which EC2
    answers and moto does not implement; the rest of the query as moto answers it."""
    filters = params.get("Filters") or []
    by_eni = [f for f in filters if f.get("Name") == "network-interface.network-interface-id"]
    if not by_eni:
        return None
    query = _rest_of(params, by_eni)
    wanted = [set(f.get("Values") or []) for f in by_eni]
    reservations = []
    for reservation in sim.view.client.describe_instances(**query)["Reservations"]:
        instances = [
            i
            for i in reservation["Instances"]
            if all(
                values & {n["NetworkInterfaceId"] for n in i.get("NetworkInterfaces", [])}
                for values in wanted
            )
        ]
        if instances:
            reservations.append({**reservation, "Instances": instances})
    return {"Reservations": reservations, "ResponseMetadata": {"HTTPStatusCode": 200}}


ANSWERS: dict[str, Answer] = {
    "DescribeInstances": describe_instances_by_eni,
    "DescribeNetworkInterfaces": describe_by_private_ip,
    "DescribeRouteTables": describe_by_ipv6_destination,
}
