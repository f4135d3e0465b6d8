"""IPv6 addresses of an ENI as chains: assigned or unassigned in one call each, and moved
from another ENI in two, crash-safe.

EC2 cannot reassign an IPv6 address: a move is unassign, then assign. Before the unassign
the receiving ENI is tagged with the intent (`eniops:ip-move = "from=<eni> ips=<ip,…>"`),
which goes beside the assign's check. A failed assign puts the addresses back on the ENI
they came from. A run killed between the two steps leaves addresses on no ENI that the
intent names: they count as held by its `from` ENI, and the same call, run again, assigns
them and removes the intent.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from .._core import _inputs
from .._core._codes import INVALID_IP_ADDRESS_IN_USE as IN_USE
from .._core._json import Json, JsonDict, JsonObject
from .._plan import Chain, Change, Role, Wait
from .._plan._expect import IpHeldBy, IpsOn
from .._state._model import Eni
from .._state._tags import IP_MOVE_TAG, IpMoveIntent
from .._state._views import Planned, Subject
from . import _bookkeeping


def planned_ips(eni: Eni, *, add: tuple[str, ...] = (), drop: tuple[str, ...] = ()) -> JsonDict:
    """The ENI's summary with `add` assigned and `drop` unassigned, either family."""
    v4 = [ip for ip in [*eni.secondary_ips, *add] if not _inputs.is_ipv6(ip) and ip not in drop]
    v6 = [ip for ip in [*eni.ipv6_addresses, *add] if _inputs.is_ipv6(ip) and ip not in drop]
    return {
        **eni.summary(),
        "secondary_ips": list(dict.fromkeys(v4)),
        "ipv6_addresses": [
            {"address": ip, "primary": ip == eni.primary_ipv6} for ip in dict.fromkeys(v6)
        ],
    }


def _assign6(
    eni_id: str,
    ips: tuple[str, ...],
    *,
    add: bool,
    role: Role = "step",
    undo: tuple[Change, ...] = (),
    riders: tuple[Change, ...] = (),
    note: str = "",
) -> Change:
    return Change(
        "AssignIpv6Addresses" if add else "UnassignIpv6Addresses",
        {"NetworkInterfaceId": eni_id, "Ipv6Addresses": list(ips)},
        expect=(IpsOn(eni_id, ips=ips, present=add),),
        role=role,
        undo=undo,
        riders=riders,
        note=note,
    )


def _chain(
    eni: Eni, name: str, items: tuple[Change | Wait, ...], planned: JsonObject, **context: Json
) -> Chain:
    subject: Subject = ("eni", eni.eni_id)
    add = "removing" not in context
    return Chain(
        name=name,
        operation="add_secondary_ips" if add else "remove_secondary_ips",
        items=items,
        subjects=(subject,),
        before={"eni": eni.summary()},
        after={"eni": Planned(subject, planned)},
        context={"eni": eni.eni_id, **context},
    )


def ipv6_chain(eni: Eni, ips: tuple[str, ...], *, add: bool) -> Chain:
    """`AssignIpv6Addresses` or `UnassignIpv6Addresses` of `ips`, waited for on the ENI."""
    planned = planned_ips(eni, add=ips) if add else planned_ips(eni, drop=ips)
    change = _assign6(eni.eni_id, ips, add=add, role="goal")
    name = f"{'' if add else 'remove '}IPv6 {', '.join(ips)}"
    return _chain(eni, name, (change,), planned, **{"adding" if add else "removing": list(ips)})


def move_chain(eni: Eni, source: str, ips: tuple[str, ...], *, on_source: tuple[str, ...]) -> Chain:
    """The two-step move of `ips` from ENI `source` to `eni`: the intent (unless recorded
    already), the unassign from `source` of those still `on_source` (a killed run may have
    unassigned the rest), the assign with the intent's removal beside its check. The
    unassign's undo puts them back on `source`."""
    move = IpMoveIntent(source, ips)
    items: list[Change | Wait] = []
    if eni.ip_intent != move:
        items.append(_bookkeeping.intent(eni.eni_id, move))
    if on_source:
        back = _assign6(source, on_source, add=True, note=f"put back on {source}")
        # EC2's answer is enough: the assign that follows is the check (refused while the
        # address still shows on `source`, it is sent again).
        unassign = _assign6(source, on_source, add=False, role="step", undo=(back,))
        items.append(dataclasses.replace(unassign, check="settle"))
    removal = _bookkeeping.intent_removal(eni.eni_id, IP_MOVE_TAG)
    # Checked by who holds each address (someone else: a Conflict, not a wait), and sent
    # again while EC2 still shows it on `source`.
    assign = _assign6(eni.eni_id, ips, add=True, role="goal", riders=(removal,))
    items.append(
        dataclasses.replace(
            assign, expect=IpHeldBy.each(eni, ips, lambda _: source), pending=frozenset({IN_USE})
        )
    )
    name = f"move IPv6 {', '.join(ips)} from {source}"
    return _chain(
        eni, name, tuple(items), planned_ips(eni, add=ips), adding=list(ips), source=source
    )


def finish_chain(eni: Eni) -> Chain | None:
    """An intent whose addresses are all on `eni` already (a run killed after its assign):
    its removal, beside a check that they are there."""
    intent = eni.ip_intent
    if intent is None or not set(intent.ips) <= set(eni.ipv6_addresses):
        return None
    removal = _bookkeeping.intent_removal(eni.eni_id, IP_MOVE_TAG)
    wait = Wait(IpsOn(eni.eni_id, ips=intent.ips), riders=(removal,))
    name = f"finish the move of IPv6 {', '.join(intent.ips)}"
    return _chain(eni, name, (wait,), planned_ips(eni), adding=[])


def ipv6_chains(
    eni: Eni, free: tuple[str, ...], moves: Mapping[str, str], on_an_eni: set[str]
) -> list[Chain]:
    """The chains that put `free` (held by nobody) and `moves` (address -> the ENI it comes
    from) on `eni`; `on_an_eni` are the addresses some ENI shows now."""
    chains = [ipv6_chain(eni, free, add=True)] if free else []
    by_source: dict[str, list[str]] = {}
    for ip, source in moves.items():
        by_source.setdefault(source, []).append(ip)
    for source, ips in sorted(by_source.items()):
        on_source = tuple(ip for ip in ips if ip in on_an_eni)
        chains.append(move_chain(eni, source, tuple(ips), on_source=on_source))
    if not moves:
        finished = finish_chain(eni)
        if finished is not None:
            chains.append(finished)
    return chains
