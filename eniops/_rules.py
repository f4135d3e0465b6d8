"""EC2's rules as pure functions of described state.

Each check raises `PreconditionFailed` (or a subclass) with its reason code, or returns what
the operation needs (a device index, the IPs to add). Nothing here calls AWS, so every rule
is tested without moto.
"""

from __future__ import annotations

import ipaddress
import itertools
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal, TypeVar

from ._errors import Conflict, InvalidInput, NotFound, PreconditionFailed
from ._inputs import UNASSOCIATED, TagGuard, is_ipv6
from ._model import Address, Attachment, Eni, Instance, Limits, Subnet
from ._routes import Route, RouteTable
from ._tags import IP_MOVE_TAG, MoveIntent

T = TypeVar("T")


class Verdicts:
    """How a planner meets a refused rule. An operation raises the first refusal: nothing
    is changed. A readiness check notes each refusal and plans on with what it can still
    build, so that every problem is listed, not only the first."""

    def __init__(self, *, collect: bool = False) -> None:
        self.collect = collect
        self.refusals: list[PreconditionFailed] = []

    def check(self, rule: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
        """Apply `rule`; its refusal is raised, or noted (then None is its answer)."""
        try:
            return rule(*args, **kwargs)
        except PreconditionFailed as refusal:
            if not self.collect:
                raise
            self.refusals.append(refusal)
            return None

    def holds(self, rule: Callable[..., object], *args: Any) -> bool:
        """Apply a rule that answers nothing: True when it holds (a refusal as above)."""
        count = len(self.refusals)
        self.check(rule, *args)
        return len(self.refusals) == count


#: States in which an instance takes an ENI (hot or warm attach).
USABLE_INSTANCE_STATES = frozenset({"running", "stopped"})
#: States in which an instance's primary ENI may receive an Elastic IP.
EIP_TARGET_STATES = frozenset({"pending", "running", "stopped"})


def tag_guard(guard: TagGuard | None, resource_id: str, tags: Mapping[str, str]) -> None:
    """`require_tag`: the resource about to change must carry the tag."""
    if guard is not None and not guard.matches(dict(tags)):
        raise PreconditionFailed(
            "tag-guard",
            f"{resource_id} does not carry the required tag {guard}",
            details={"resource": resource_id, "require_tag": str(guard), "tags": dict(tags)},
        )


def expect_current(expected: str | None, resource_id: str, holders: Iterable[str | None]) -> None:
    """`expect_current`: the instance or ENI that must hold `resource_id` now.

    `holders` are the ids (instance and ENI) holding it now; empty when nobody does.
    """
    if expected is None:
        return
    current = [h for h in holders if h]
    ok = not current if expected == UNASSOCIATED else expected in current
    if not ok:
        raise Conflict(
            "expect-mismatch",
            f"{resource_id} is held by {', '.join(current) or 'nobody'}, not {expected}",
            details={"resource": resource_id, "expected": expected, "current": current},
        )


def private_ip_on_eni(private_ip: str, eni: Eni) -> None:
    """`remap_eip`'s `private_ip` must be one of the target ENI's private IPs."""
    if private_ip not in eni.private_ips:
        raise PreconditionFailed(
            "private-ip-not-on-eni",
            f"{private_ip} is not a private IP of {eni.eni_id}",
            details={"eni": eni.eni_id, "private_ip": private_ip, "eni_ips": list(eni.private_ips)},
        )


def instance_state(instance: Instance, allowed: frozenset[str] = USABLE_INSTANCE_STATES) -> None:
    """The instance must be in a state EC2 accepts the change in."""
    if instance.state not in allowed:
        raise PreconditionFailed(
            "instance-state",
            f"{instance.instance_id} is {instance.state}, not {' or '.join(sorted(allowed))}",
            details={"instance": instance.instance_id, "state": instance.state},
        )


def not_requester_managed(eni: Eni) -> None:
    """ENIs owned by an AWS service (NAT gateway, load balancer, ...) are never touched."""
    if eni.requester_managed or eni.interface_type != "interface":
        raise PreconditionFailed(
            "requester-managed",
            f"{eni.eni_id} is managed by an AWS service ({eni.interface_type}); leave it alone",
            details={"eni": eni.eni_id, "interface_type": eni.interface_type},
        )


def not_primary(eni: Eni) -> None:
    """The device-index-0 interface cannot be detached or moved."""
    if eni.attachment and eni.attachment.is_primary:
        raise PreconditionFailed(
            "primary-eni",
            f"{eni.eni_id} is the primary interface of {eni.attachment.instance_id}",
            details={"eni": eni.eni_id, "instance": eni.attachment.instance_id},
        )


def same_vpc_and_az(eni: Eni, instance: Instance) -> None:
    """ENI and instance must share the VPC and the availability zone."""
    if eni.vpc_id and instance.vpc_id and eni.vpc_id != instance.vpc_id:
        raise PreconditionFailed(
            "vpc-mismatch",
            f"{eni.eni_id} is in {eni.vpc_id}, {instance.instance_id} in {instance.vpc_id}",
            details={"eni": eni.eni_id, "eni_vpc": eni.vpc_id, "instance_vpc": instance.vpc_id},
        )
    if eni.availability_zone != instance.availability_zone:
        raise PreconditionFailed(
            "az-mismatch",
            f"{eni.eni_id} is in {eni.availability_zone}, "
            f"{instance.instance_id} in {instance.availability_zone}",
            details={
                "eni": eni.eni_id,
                "eni_az": eni.availability_zone,
                "instance_az": instance.availability_zone,
            },
        )


def free_for(eni: Eni, instance_id: str) -> None:
    """Attach: the ENI must not be attached to another instance."""
    if eni.attachment and eni.attachment.instance_id != instance_id:
        raise Conflict(
            "in-use",
            f"{eni.eni_id} is attached to {eni.attachment.instance_id}; use move_eni",
            details={"eni": eni.eni_id, "instance": eni.attachment.instance_id},
        )


def choose_device_index(
    instance: Instance,
    limits: Limits,
    requested: int | None,
    *,
    leaving: Iterable[str] = (),
) -> int:
    """A device index on network card 0: `requested` if free, else the lowest free one.

    `leaving` are ENIs on the instance that leave it before the attach (an ENI moved back
    to the instance it is still detaching from): their slots and indexes count as free.
    """
    return choose_device_indexes(instance, limits, [requested], leaving=leaving)[0]


def choose_device_indexes(
    instance: Instance,
    limits: Limits,
    requested: list[int | None],
    *,
    leaving: Iterable[str] = (),
) -> list[int]:
    """Device indexes on card 0 for several ENIs attaching at once, checked together.

    Each entry of `requested` is an index (which must be free) or None (the lowest free
    index, in order). Raises ``attachment-limit`` when the slots do not suffice for all of
    them and ``device-index-in-use`` for a taken index.
    """
    gone = set(leaving)
    staying = [e for e in instance.enis if e.eni_id not in gone]
    used = {
        e.attachment.device_index
        for e in staying
        if e.attachment and e.attachment.network_card_index == 0
    }
    maximum = limits.max_on_card(0)
    details = {
        "instance": instance.instance_id,
        "instance_type": limits.instance_type,
        "max_enis": maximum,
        "used_device_indexes": sorted(used),
        "attaching": len(requested),
    }
    if len(used) + len(requested) > maximum or len(staying) + len(requested) > limits.max_enis:
        raise PreconditionFailed(
            "attachment-limit",
            f"{instance.instance_id} ({limits.instance_type}) has {len(used)} of {maximum} "
            f"network interfaces; {len(requested)} more do not fit",
            details=details,
        )
    chosen: list[int | None] = []
    for index in requested:
        if index is not None and (index in used or index in chosen):
            raise PreconditionFailed(
                "device-index-in-use",
                f"device index {index} is taken on {instance.instance_id}",
                details={**details, "device_index": index},
            )
        chosen.append(index)
    taken = used | {i for i in chosen if i is not None}
    # The slot check above bounds how far this looks: the lowest free indexes of card 0.
    free = (i for i in itertools.count(1) if i not in taken)
    return [index if index is not None else next(free) for index in chosen]


def free_device_indexes(instance: Instance, limits: Limits) -> list[int]:
    """The device indexes an attach to `instance` could take now, lowest first."""
    used = instance.used_device_indexes(0)
    room = max(0, limits.max_on_card(0) - len(used))
    return list(itertools.islice((i for i in itertools.count(1) if i not in used), room))


def recorded_index(intent: MoveIntent, limits: Limits) -> int | None:
    """The device index an `eniops:move` intent records, if it is one the target's type has on
    card 0 (a tag is a hint: a value EC2 would refuse, or a forged one, is not sent)."""
    index = intent.device_index
    return index if 1 <= index < limits.max_on_card(0) else None


def same_vpc_instances(source: Instance, target: Instance) -> None:
    """``vpc-mismatch``: a standby in another VPC than the instance it stands in for."""
    if source.vpc_id and target.vpc_id and source.vpc_id != target.vpc_id:
        raise PreconditionFailed(
            "vpc-mismatch",
            f"{target.instance_id} is in {target.vpc_id}, {source.instance_id} in "
            f"{source.vpc_id}: a standby must be in the same VPC",
            details={
                "instance": source.instance_id,
                "vpc": source.vpc_id,
                "standby": target.instance_id,
                "standby_vpc": target.vpc_id,
            },
        )


def no_same_subnet(eni: Eni, instance: Instance, allow: bool) -> None:
    """A second ENI of a subnet the instance is already in risks asymmetric routing."""
    if allow:
        return
    clash = [
        e.eni_id for e in instance.enis if e.subnet_id == eni.subnet_id and e.eni_id != eni.eni_id
    ]
    if clash:
        raise PreconditionFailed(
            "same-subnet",
            f"{instance.instance_id} already has {', '.join(clash)} in {eni.subnet_id}; "
            "add a secondary private IP instead (add_secondary_ips), "
            "or pass allow_same_subnet",
            details={
                "eni": eni.eni_id,
                "instance": instance.instance_id,
                "subnet": eni.subnet_id,
                "enis_in_subnet": clash,
                "suggestion": "add_secondary_ips",
            },
        )


def one_subnet(ip: str, source: Instance, target: Instance) -> None:
    """A private IP of the source's primary ENI moves only to a primary ENI of its subnet
    (EC2 reassigns within a subnet): ``vpc-mismatch`` or ``ip-outside-subnet``."""
    here, there = source.primary_eni, target.primary_eni
    if here is None or there is None or here.subnet_id == there.subnet_id:
        return
    raise PreconditionFailed(
        "vpc-mismatch" if source.vpc_id != target.vpc_id else "ip-outside-subnet",
        f"{ip} is on {here.eni_id} in {here.subnet_id}; moving it needs {target.instance_id}'s "
        f"primary ENI in that subnet, not {there.subnet_id}",
        details={"ip": ip, "source_subnet": here.subnet_id, "target_subnet": there.subnet_id},
    )


FloatingMove = Literal["move", "assign", "there"]


def floating_ip(
    ip: str,
    source: Instance,
    target: Instance,
    holders: Mapping[str, str],
    subnet: Subnet | None,
) -> FloatingMove:
    """How a floating IP (IPv4 or IPv6) of a failover reaches the target's primary ENI:
    ``there`` already; ``move`` from a secondary address of the source's primary ENI (one
    subnet), or an IPv6 address on no ENI that an interrupted move from it names; ``assign``
    when no ENI holds it (the source's teardown freed it), inside the target's subnet. Held
    by anyone else (``ip-in-use``) or the source's primary address (``ip-is-primary``):
    refused. `holders` maps addresses to the ENI holding each now (for an IPv6 address on no
    ENI that an `eniops:ip-move` intent names, its `from` ENI)."""
    here, there = source.primary_eni, target.primary_eni
    v6 = is_ipv6(ip)
    if there is not None and ip in (there.ipv6_addresses if v6 else there.private_ips):
        return "there"
    primary = (here.primary_ipv6 if v6 else here.primary_ip) if here is not None else None
    if here is not None and ip == primary:
        raise PreconditionFailed(
            "ip-is-primary",
            f"{ip} is the primary {'IPv6 address' if v6 else 'private IP'} of {here.eni_id}: "
            "a failover does not move it",
            details={"ip": ip, "holder": here.eni_id},
        )
    holder = holders.get(ip)
    on_here = here is not None and ip in (here.ipv6_addresses if v6 else here.secondary_ips)
    if on_here or (here is not None and holder == here.eni_id):
        one_subnet(ip, source, target)
        return "move"
    if holder is not None:
        raise Conflict(
            "ip-in-use",
            f"{ip} belongs to {holder}, not to {source.instance_id}: a failover does not take it",
            details={"ip": ip, "holder": holder, "instance": source.instance_id},
        )
    if subnet is not None:
        (ipv6_in_subnet if v6 else ip_in_subnet)(ip, subnet)
    return "assign"


def reserved_ips(subnet: Subnet) -> frozenset[str]:
    """The five addresses AWS reserves: network, +1, +2, +3 and broadcast."""
    net = subnet.network
    base = int(net.network_address)
    return frozenset(
        {str(ipaddress.IPv4Address(base + i)) for i in range(4)} | {str(net.broadcast_address)}
    )


def ip_in_subnet(ip: str, subnet: Subnet) -> None:
    """The IP must be a usable address of the subnet."""
    if ipaddress.IPv4Address(ip) not in subnet.network:
        raise PreconditionFailed(
            "ip-outside-subnet",
            f"{ip} is not inside {subnet.subnet_id} ({subnet.cidr})",
            details={"ip": ip, "subnet": subnet.subnet_id, "cidr": subnet.cidr},
        )
    if ip in reserved_ips(subnet):
        raise PreconditionFailed(
            "ip-reserved",
            f"{ip} is one of the five addresses AWS reserves in {subnet.cidr}",
            details={
                "ip": ip,
                "subnet": subnet.subnet_id,
                "reserved": sorted(reserved_ips(subnet)),
            },
        )


def ip_limit(eni: Eni, limits: Limits | None, adding: int, *, version: int = 4) -> None:
    """The ENI's IPv4 (primary included) or IPv6 count must stay within the type's limit."""
    if limits is None or adding == 0:
        return
    current = len(eni.private_ips) if version == 4 else len(eni.ipv6_addresses)
    limit = limits.ipv4_per_eni if version == 4 else limits.ipv6_per_eni
    if current + adding > limit:
        raise PreconditionFailed(
            "ip-limit",
            f"{eni.eni_id} would have {current + adding} IPv{version} addresses; "
            f"{limits.instance_type} allows {limit} per interface",
            details={"eni": eni.eni_id, "current": current, "adding": adding, "limit": limit},
        )


def ips_to_add(
    eni: Eni,
    subnet: Subnet,
    ips: Iterable[str],
    holders: Mapping[str, tuple[str, ...]],
    *,
    allow_reassignment: bool,
    expected: str | None,
    limits: Limits | None,
    primaries: Iterable[str] = (),
) -> tuple[str, ...]:
    """Which of `ips` to assign to `eni`; raises if any may not be.

    `holders` maps private IPs in the subnet to the ids holding each now (the ENI first,
    then its instance, if attached); `primaries` are the subnet's primary IPs, which EC2
    never reassigns; `expected` is `expect_current`: the ENI (or instance) that must hold
    each reassigned IP now.
    """
    wanted = [ip for ip in ips if ip not in eni.private_ips]
    primary_ips = set(primaries)
    for ip in wanted:
        ip_in_subnet(ip, subnet)
        holder_ids = holders.get(ip, ())
        holder = holder_ids[0] if holder_ids else None
        if holder and holder != eni.eni_id and ip in primary_ips:
            raise PreconditionFailed(
                "ip-is-primary",
                f"{ip} is the primary private IP of {holder}: EC2 never reassigns it",
                details={"ip": ip, "holder": holder, "eni": eni.eni_id},
            )
        if holder and holder != eni.eni_id:
            if not allow_reassignment:
                raise Conflict(
                    "ip-in-use",
                    f"{ip} belongs to {holder}; pass allow_reassignment to take it",
                    details={"ip": ip, "holder": holder, "eni": eni.eni_id},
                )
            expect_current(expected, ip, holder_ids)
        elif allow_reassignment and expected not in (None, UNASSOCIATED):
            # The caller expects someone to hold this IP now; nobody does.
            expect_current(expected, ip, [])
    ip_limit(eni, limits, len(wanted))
    return tuple(wanted)


def ipv6_in_subnet(ip: str, subnet: Subnet) -> None:
    """The IPv6 address must be inside the subnet's IPv6 range (and the subnet have one)."""
    if subnet.ipv6_cidr is None or ipaddress.IPv6Address(ip) not in ipaddress.IPv6Network(
        subnet.ipv6_cidr
    ):
        where = subnet.ipv6_cidr or "no IPv6 range"
        raise PreconditionFailed(
            "ip-outside-subnet",
            f"{ip} is not inside {subnet.subnet_id} ({where})",
            details={"ip": ip, "subnet": subnet.subnet_id, "cidr": subnet.ipv6_cidr},
        )


def on_their_way(
    enis: Iterable[Eni],
    ips: Iterable[str],
    shown: Iterable[str],
    moves_from: Callable[[str], bool],
) -> tuple[dict[str, str], list[str]]:
    """Which of `ips` count as held by an interrupted IPv6 move's `from` ENI, and warnings.

    An address on no ENI (not in `shown`) that an `eniops:ip-move` intent names is on its way
    from the intent's `from` ENI; it counts as held by that ENI only for a call that moves it
    from there (`moves_from(eni_id)`: the re-run of the interrupted call, a failover whose
    source holds that ENI). For any other call the intent is a stranger's: it neither blocks
    nor reserves the address, and a warning names it.
    """
    asked, on_an_eni = set(ips), set(shown)
    held: dict[str, str] = {}
    warnings: list[str] = []
    for eni in sorted(enis, key=lambda e: e.eni_id):
        intent = eni.ip_intent
        waiting = [ip for ip in intent.ips if ip in asked and ip not in on_an_eni] if intent else []
        if intent is None or not waiting:
            continue
        if moves_from(intent.source):
            held.update(dict.fromkeys(waiting, intent.source))
        else:
            warnings.append(
                f"{eni.eni_id}'s {IP_MOVE_TAG} tag names {', '.join(waiting)} as on its way from "
                f"{intent.source}, which this call does not move it from: a stranger's intent, "
                "ignored"
            )
    return held, warnings


def ipv6_to_add(
    eni: Eni,
    subnet: Subnet | None,
    ips: Iterable[str],
    holders: Mapping[str, tuple[str, ...]],
    *,
    allow_reassignment: bool,
    expected: str | None,
    limits: Limits | None,
) -> tuple[tuple[str, ...], dict[str, str]]:
    """Which IPv6 addresses of `ips` to assign to `eni` from nobody, and which to move (each
    to the ENI it comes from); raises if any may not be.

    `holders` maps the subnet's IPv6 addresses to the ids holding each (the ENI first, then
    its instance), an address on no ENI that an `eniops:ip-move` intent names counting as
    held by its `from` ENI. EC2 cannot reassign IPv6: taking one from another ENI needs
    `allow_reassignment` and `expect_current` naming its holder (eniops moves it in two steps).
    `subnet` (None: not read) is needed only for addresses no ENI of the subnet holds.
    """
    wanted = [ip for ip in ips if ip not in eni.ipv6_addresses]
    free: list[str] = []
    moves: dict[str, str] = {}
    for ip in wanted:
        holder_ids = holders.get(ip, ())
        if not holder_ids:
            assert subnet is not None, f"{ip}: the subnet is read for an address nobody holds"
            ipv6_in_subnet(ip, subnet)
        holder = holder_ids[0] if holder_ids else None
        if holder and holder != eni.eni_id:
            if not allow_reassignment:
                raise Conflict(
                    "ip-in-use",
                    f"{ip} belongs to {holder}; pass allow_reassignment (and expect_current) "
                    "to move it",
                    details={"ip": ip, "holder": holder, "eni": eni.eni_id},
                )
            if expected is None:
                raise InvalidInput(
                    f"{ip} is held by {holder}: an IPv6 address moves (unassign, then assign) "
                    "only with expect_current naming its holder",
                    details={"ip": ip, "holder": holder, "argument": "expect_current"},
                )
            expect_current(expected, ip, holder_ids)
            moves[ip] = holder
        else:
            if allow_reassignment and expected not in (None, UNASSOCIATED):
                expect_current(expected, ip, [])
            free.append(ip)
    ip_limit(eni, limits, len(wanted), version=6)
    return tuple(free), moves


def ipv6_to_remove(eni: Eni, ips: Iterable[str]) -> tuple[str, ...]:
    """Which IPv6 addresses of `ips` to unassign from `eni`: never its primary IPv6."""
    present = [ip for ip in ips if ip in eni.ipv6_addresses]
    for ip in present:
        if ip == eni.primary_ipv6:
            raise PreconditionFailed(
                "ip-is-primary",
                f"{ip} is the primary IPv6 address of {eni.eni_id}: it stays until the "
                "instance is terminated or the interface detached",
                details={"ip": ip, "eni": eni.eni_id},
            )
    return tuple(present)


def pick_free_ips(subnet: Subnet, used: Iterable[str], count: int) -> tuple[str, ...]:
    """`count` free addresses of the subnet, never reserved and never in use."""
    taken = set(used) | reserved_ips(subnet)
    picked: list[str] = []
    for address in subnet.network.hosts():
        text = str(address)
        if text not in taken:
            picked.append(text)
            if len(picked) == count:
                return tuple(picked)
    raise PreconditionFailed(
        "ip-limit",
        f"{subnet.subnet_id} has only {len(picked)} free addresses, {count} asked for",
        details={"subnet": subnet.subnet_id, "free": len(picked), "asked": count},
    )


def ips_to_remove(eni: Eni, ips: Iterable[str], ips_with_eip: Iterable[str]) -> tuple[str, ...]:
    """Which of `ips` to unassign from `eni`; the primary and EIP-bearing IPs are refused."""
    with_eip = set(ips_with_eip)
    present = [ip for ip in ips if ip in eni.private_ips]
    for ip in present:
        if ip == eni.primary_ip:
            raise PreconditionFailed(
                "ip-is-primary",
                f"{ip} is the primary private IP of {eni.eni_id}",
                details={"ip": ip, "eni": eni.eni_id},
            )
        if ip in with_eip:
            raise PreconditionFailed(
                "ip-has-eip",
                f"{ip} on {eni.eni_id} has an Elastic IP; move or release it first",
                details={"ip": ip, "eni": eni.eni_id},
            )
    return tuple(present)


def settled_on(eni: Eni, instance_id: str) -> bool:
    """Already there: attached to `instance_id`, and `attached` (not merely naming it)."""
    return eni.attached_to == instance_id


def arriving(eni: Eni, instance_id: str) -> bool:
    """On `instance_id` already: attaching, or attached with an intent left over."""
    return eni.instance_id == instance_id and not eni.detaching


def next_delete_on_termination(eni: Eni, *, carry: bool, trust_intent: bool = True) -> bool:
    """DeleteOnTermination for the ENI's next attachment: what its own attachment has (when
    `carry`), whatever an intent tag claims while that attachment is there to read; once the
    ENI is detached, what an interrupted move recorded, but only where the intent is trusted
    (the ENI named by the caller, its move re-run): a tag alone never has EC2 delete an ENI."""
    intent, att = eni.intent, eni.attachment
    if intent is not None and att is None:
        return trust_intent and intent.delete_on_termination
    return carry and bool(att and att.delete_on_termination)


def restores_dot(
    intent: MoveIntent | None, attachment: Attachment, *, trust_intent: bool = True
) -> bool:
    """A move's intent recorded DeleteOnTermination for this very attachment (its instance
    and device index), the attachment does not have it yet, and the intent is trusted."""
    return trust_intent and dot_only_by_tag(intent, attachment)


def dot_only_by_tag(intent: MoveIntent | None, attachment: Attachment | None) -> bool:
    """An intent records DeleteOnTermination that the ENI's attachment (for this very move:
    its instance and device index; or none, the ENI detached) does not show: only the tag
    says it."""
    if intent is None or not intent.delete_on_termination:
        return False
    if attachment is None:
        return True
    return (intent.target, intent.device_index) == (
        attachment.instance_id,
        attachment.device_index,
    ) and not attachment.delete_on_termination


def eni_holder(eni: Eni) -> str | None:
    """Who holds an ENI: the instance it is on, or, while an interrupted move is pending
    (`detaching` or `available` with an `eniops:move` tag), the instance it moves from."""
    intent = eni.intent
    if intent is not None and (eni.attachment is None or eni.detaching):
        return intent.source
    return eni.instance_id


def primary_of(instance: Instance) -> Eni:
    """An instance's primary ENI (device index 0, card 0); an instance without one (being
    terminated) is refused with ``instance-state``."""
    primary = instance.primary_eni
    if primary is None:
        raise PreconditionFailed(
            "instance-state",
            f"{instance.instance_id} ({instance.state}) has no primary network interface",
            details={"instance": instance.instance_id, "state": instance.state},
        )
    return primary


def eip_target(instance: Instance, allowed: frozenset[str]) -> Eni:
    """An instance's primary ENI, for an Elastic IP: the instance must be in `allowed`."""
    instance_state(instance, allowed)
    return primary_of(instance)


def eip_on_target(
    addresses: Iterable[Address], moving: Iterable[str], eni: Eni, private_ip: str
) -> Address | None:
    """Another Elastic IP already on the target ENI's private IP, if any.

    EC2 would silently disassociate it when `moving` (allocation ids) are associated there.
    """
    leaving = set(moving)
    return next(
        (
            a
            for a in addresses
            if a.allocation_id not in leaving
            and a.eni_id == eni.eni_id
            and (a.private_ip or eni.primary_ip) == private_ip
        ),
        None,
    )


def no_eip_on_target(displaced: Address | None, eni: Eni, private_ip: str, replace: bool) -> None:
    """``target-has-eip``: refuse to take a private IP that carries another Elastic IP."""
    if displaced is not None and not replace:
        raise PreconditionFailed(
            "target-has-eip",
            f"{private_ip} on {eni.eni_id} already carries Elastic IP {displaced.public_ip}; "
            "EC2 would silently disassociate it (pass replace_eip to accept that)",
            details={
                "eni": eni.eni_id,
                "private_ip": private_ip,
                "displaced": displaced.summary(),
            },
        )


def source_dest_check_off(eni: Eni) -> None:
    """``source-dest-check``: an ENI that receives an overlay IP's traffic must not check."""
    if eni.source_dest_check:
        raise PreconditionFailed(
            "source-dest-check",
            f"{eni.eni_id} has SourceDestCheck on: it would drop the traffic routed to it; "
            "turn it off (ec2 modify-network-interface-attribute --no-source-dest-check)",
            details={"eni": eni.eni_id, "instance": eni.instance_id},
        )


def same_vpc(resource_id: str, vpc_id: str, eni: Eni) -> None:
    """``vpc-mismatch``: a route table (or ENI) outside the target ENI's VPC."""
    if vpc_id != eni.vpc_id:
        raise PreconditionFailed(
            "vpc-mismatch",
            f"{resource_id} is in {vpc_id}, {eni.eni_id} in {eni.vpc_id}",
            details={"resource": resource_id, "vpc": vpc_id, "eni_vpc": eni.vpc_id},
        )


def route_expected(
    expected: str | None,
    table: RouteTable,
    route: Route | None,
    holders: Mapping[str, str | None],
    destination: str,
) -> None:
    """`move_route`'s `expect_current` on one table's route for `destination`: the instance,
    ENI or other target it must route to now, or `UNASSOCIATED` (no route yet). `holders`
    names the instance of each ENI a route names alone."""
    if expected is None:
        return
    where = f"the route to {destination} in {table.route_table_id}"
    if route is None:
        if expected != UNASSOCIATED:
            raise Conflict(
                "expect-mismatch",
                f"{table.route_table_id} has no route to {destination}, not one to {expected}",
                details={"route_table": table.route_table_id, "expected": expected},
            )
        return
    if expected == UNASSOCIATED:
        raise Conflict(
            "expect-mismatch",
            f"{where} exists already (to {route.target})",
            details={"route_table": table.route_table_id, "current": route.target},
        )
    current = [route.eni_id, route.instance_id, holders.get(route.eni_id or ""), route.target]
    expect_current(expected, where, current)


def _replaceable(route: Route, *, named: bool, expected: str | None) -> bool:
    via = route.via
    if via is None or via.local:
        return False
    return via.movable or (named and expected == via.target_id)


def routes_to_move(
    tables: Iterable[RouteTable], destination: str, *, named: bool, expected: str | None
) -> tuple[list[tuple[RouteTable, Route | None]], list[tuple[RouteTable, Route]]]:
    """The tables (and their current route for `destination`) a route move changes, and
    those it leaves alone.

    With `named` tables every one is changed (a missing route is created); otherwise only the
    tables that route the destination, and at least one must. A route to anything but an
    instance or an ENI (a NAT gateway, a transit gateway, a peering...) is replaced only in
    a named table and when `expected` names that target: then it can be put back exactly;
    otherwise its table is left alone. The VPC's local route is never replaced.
    """
    found = [(table, table.route(destination)) for table in tables]
    if not named:
        found = [(table, route) for table, route in found if route is not None]
        if not found:
            raise NotFound(
                f"no route table of the VPC has a route for {destination}; name the tables "
                "(route_tables) to create it",
                details={"destination": destination},
            )
    moves: list[tuple[RouteTable, Route | None]] = []
    left: list[tuple[RouteTable, Route]] = []
    for table, route in found:
        if route is None or _replaceable(route, named=named, expected=expected):
            moves.append((table, route))
        else:
            left.append((table, route))
    if not moves:
        raise NotFound(
            f"no route for {destination} targets an instance or an ENI: "
            + "; ".join(f"{t.route_table_id} routes it to {r.target}" for t, r in left)
            + ". Name the table (route_tables) and its target (expect_current) to replace it",
            details={
                "destination": destination,
                "left_alone": {t.route_table_id: r.target for t, r in left},
            },
        )
    return moves, left
