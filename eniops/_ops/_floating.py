"""A failover's floating IPs (`ips`, and the source's `eniops:floating-ips` tag for the
Lambda): who holds them, read per family, and the chains that put them on the target's
primary ENI; IPv4 by reassignment, IPv6 in two crash-safe steps.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping

from .._core import _inputs
from .._core._errors import InvalidInput, PreconditionFailed
from .._core._threads import at_once
from .._executor import Run
from .._plan import Chain
from .._state import _rules as check
from .._state._model import Eni, Instance
from .._state._tags import FLOATING_IPS_TAG
from . import _ip_rules as ip_rules
from . import _picking as picking
from ._ipv4 import Assignment
from ._ipv6 import finish_chain, ipv6_chain
from ._ipv6 import move_chain as move_ipv6
from ._picking import FailoverState


def tag_ips(instance: Instance) -> tuple[tuple[str, ...], list[str]]:
    """The addresses the instance's `eniops:floating-ips` tag names (separated by spaces), and
    a warning for each word that is not one. The tag is a hint, never an order: what it names
    is checked against what EC2 shows (`hinted`)."""
    found: list[str] = []
    warnings: list[str] = []
    where = f"{instance.instance_id}'s {FLOATING_IPS_TAG} tag"
    for word in instance.tags.get(FLOATING_IPS_TAG, "").split():
        try:
            found.append(_inputs.ip(word, where))
        except InvalidInput:
            warnings.append(f"{where}: {word[:60]!r} is not an IP address: left out")
    return tuple(dict.fromkeys(found)), warnings


def hinted(state: FailoverState, holders: Mapping[str, str]) -> tuple[list[str], list[str]]:
    """Which of the addresses the source's tag names (`state.hinted`) the failover moves:
    those of the source's primary ENI (a secondary address of it, or one on its way from it),
    or on the target's already; each other is left out with a warning, and the rest of the
    failover goes on (`ips=` is an order: a bad value refuses)."""
    _, warnings = tag_ips(state.source)
    taken: list[str] = []
    for ip in state.hinted:
        try:
            how = ip_rules.floating_ip(ip, state.source, state.target, holders, None)
        except PreconditionFailed as refusal:
            warnings.append(f"{FLOATING_IPS_TAG} names {ip}: {refusal.message}; left out")
            continue
        if how == "assign":
            warnings.append(
                f"{FLOATING_IPS_TAG} names {ip}, which no ENI holds: not a secondary IP of "
                f"{state.source.instance_id}'s primary ENI, so the tag alone does not assign "
                "it; left out"
            )
            continue
        taken.append(ip)
    return taken, warnings


def holding(run: Run, ips: list[str]) -> list[Eni]:
    """The ENIs holding any of `ips`: one read per family, at once."""
    reader = run.reader
    v4 = [ip for ip in ips if not _inputs.is_ipv6(ip)]
    v6 = [ip for ip in ips if _inputs.is_ipv6(ip)]
    reads = [
        functools.partial(reader.enis_where, name, values)
        for name, values in (
            ("addresses.private-ip-address", v4),
            ("ipv6-addresses.ipv6-address", v6),
        )
        if values
    ]
    return [eni for found in at_once(*reads) for eni in found]


def holders(holding: list[Eni], vpc_id: str) -> dict[str, str]:
    """Address -> the ENI (of the VPC) that EC2 shows holding it now."""
    return {
        ip: e.eni_id
        for e in holding
        if e.vpc_id == vpc_id
        for ip in (*e.private_ips, *e.ipv6_addresses)
    }


def on_their_way(
    source: Instance, tagged: Iterable[Eni], ips: Iterable[str], shown: Mapping[str, str]
) -> tuple[dict[str, str], list[str]]:
    """Floating IPv6 addresses on no ENI that an interrupted move's `eniops:ip-move` intent
    names as coming from one of the source's ENIs (a killed failover): held by that ENI.
    Another ENI's intent is a stranger's to this failover (`_rules.on_their_way`)."""
    own = {e.eni_id for e in source.enis}
    mine = [e for e in tagged if e.vpc_id == source.vpc_id]
    return ip_rules.on_their_way(mine, ips, shown, own.__contains__)


def with_waiting(state: FailoverState, ips: Iterable[str], warnings: list[str]) -> dict[str, str]:
    """Who holds each floating IP: as EC2 shows it, or (on no ENI) the source's ENI an
    interrupted move of it started from; a stranger's intent is named in `warnings`."""
    waiting, strangers = on_their_way(state.source, state.tagged, ips, state.holders)
    warnings.extend(w for w in strangers if w not in warnings)
    return {**waiting, **state.holders}


def chains(
    state: FailoverState, moves: picking.Moves, target_primary: Eni, verdicts: check.Verdicts
) -> list[Chain]:
    """The floating IPs asked for (`ips`), IPv4 then IPv6, each family within the target
    type's limit for it."""
    holders = with_waiting(state, moves.ips, moves.warnings)
    how = {
        ip: verdicts.check(
            ip_rules.floating_ip, ip, state.source, state.target, holders, state.subnet
        )
        for ip in moves.ips
    }
    v4 = [ip for ip in moves.ips if not _inputs.is_ipv6(ip)]
    v6 = [ip for ip in moves.ips if _inputs.is_ipv6(ip)]
    for version, family in ((4, v4), (6, v6)):
        adding = sum(how[ip] in ("move", "assign") for ip in family)
        verdicts.check(ip_rules.ip_limit, target_primary, state.limits, adding, version=version)
    return [
        *_ipv4_chains(state, how, v4, target_primary),
        *_ipv6_chains(state, how, v6, target_primary),
    ]


def _ipv4_chains(
    state: FailoverState,
    how: Mapping[str, ip_rules.FloatingMove | None],
    ips: list[str],
    target_primary: Eni,
) -> list[Chain]:
    """Those on the source's primary ENI reassigned from it (guarded by it, confirmed);
    those no ENI holds (the source's teardown freed them) assigned without reassignment, so
    that EC2 refuses one someone took meanwhile."""
    moving = tuple(ip for ip in ips if how[ip] == "move")
    free = tuple(ip for ip in ips if how[ip] == "assign")
    chains = []
    if moving:
        assert state.source.primary_eni is not None  # `floating_ip` found them on it
        guarded = dict.fromkeys(moving, state.source.primary_eni.eni_id)
        chains.append(Assignment(target_primary, moving, True, (), guarded).chain())
    if free:
        chains.append(Assignment(target_primary, free, False).chain())
    return chains


def _ipv6_chains(
    state: FailoverState,
    how: Mapping[str, ip_rules.FloatingMove | None],
    ips: list[str],
    target_primary: Eni,
) -> list[Chain]:
    """Those of the source's primary ENI (on it, or on no ENI with its interrupted move's
    intent naming it) moved in two crash-safe steps; those no ENI holds assigned (EC2
    refuses one someone took meanwhile); an interrupted move onto the target finished."""
    moving = tuple(ip for ip in ips if how[ip] == "move")
    free = tuple(ip for ip in ips if how[ip] == "assign")
    here = state.source.primary_eni
    chains = [ipv6_chain(target_primary, free, add=True)] if free else []
    if moving:
        assert here is not None  # `floating_ip` found them on it or moving from it
        on_source = tuple(ip for ip in moving if ip in here.ipv6_addresses)
        chains.append(move_ipv6(target_primary, here.eni_id, moving, on_source=on_source))
    elif ips and all(how[ip] == "there" for ip in ips):
        finished = finish_chain(target_primary)
        chains.extend([finished] if finished is not None else [])
    return chains
