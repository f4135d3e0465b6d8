"""EC2's rules for private IPs (IPv4 and IPv6) on an ENI: in the subnet, not reserved, within
the instance type's limits, not on the way elsewhere; which to add, pick or remove. Pure
functions of described state, for `add_secondary_ips`, `remove_secondary_ips` and the
failover's floating IPs."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Mapping
from typing import Literal

from .._core._errors import Conflict, InvalidInput, PreconditionFailed
from .._core._inputs import UNASSOCIATED, is_ipv6
from .._state._model import Eni, Instance, Limits, Subnet
from .._state._rules import expect_current
from .._state._tags import IP_MOVE_TAG


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
