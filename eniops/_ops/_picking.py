"""What a failover moves: what the source carries first, then what eniops' tags add.

What EC2 shows on the source decides, and its refusals refuse the failover. A resource
found only by eniops' tags (left by EC2's termination teardown or a killed move) is taken
only where the tag agrees with what EC2 shows and it passes its checks; otherwise it stays,
named in the warnings, and never blocks the rest. Pure.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from .._core._errors import PreconditionFailed
from .._core._inputs import TagGuard
from .._state import _rules as check
from .._state._model import Address, Eni, Instance, InstanceStatus, Limits, Subnet
from .._state._routes import RouteTable
from .._state._tags import HOLDER_TAG, MOVE_TAG, HolderTag
from . import _placing as placing


@dataclass(frozen=True)
class FailoverState:
    """Everything a failover reads, in one round trip (and the target type's limits)."""

    source: Instance
    target: Instance
    addresses: tuple[Address, ...]
    #: ENIs eniops tagged (`eniops:move`, `eniops:holder`), attached or not.
    tagged: tuple[Eni, ...]
    tables: tuple[RouteTable, ...]
    limits: Limits
    #: For floating IPs (`ips`): the ENI EC2 shows holding each now; the target's subnet,
    #: when one of them is held by no ENI (nor on its way from the source's).
    holders: Mapping[str, str] = field(default_factory=dict)
    subnet: Subnet | None = None
    #: The standby's status checks (read for a readiness check only).
    standby_status: InstanceStatus | None = None
    #: The floating IPs to move, as asked for (`ips`: an order).
    ips: tuple[str, ...] = ()
    #: The other addresses the source's `eniops:floating-ips` tag names (read for the Lambda
    #: only): a hint, each moved only if it is the source's (`_floating.hinted`).
    hinted: tuple[str, ...] = ()


@dataclass
class Moves:
    """What a failover moves: first what the source carries, then what eniops' tags add."""

    #: The address for the target's primary IP, and whether only its tag found it.
    primary_eip: Address | None = None
    primary_by_tag: bool = False
    #: Carried on a secondary IP of the source's primary ENI: they move with their IP.
    secondary_eips: list[Address] = field(default_factory=list)
    #: Unassociated, recorded on a secondary IP still on the source: that IP moves, then they.
    tagged_secondary_eips: list[tuple[Address, str]] = field(default_factory=list)
    #: Attached to (or detaching from) the source.
    enis: list[Eni] = field(default_factory=list)
    #: Free and tagged for the source, or on the target with the source's move unfinished.
    tagged_enis: list[Eni] = field(default_factory=list)
    routes: list[tuple[RouteTable, str]] = field(default_factory=list)
    #: Floating IPs asked for (`ips`) that no moving Elastic IP takes along.
    ips: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def addresses(self) -> list[Address]:
        """Every Elastic IP that moves."""
        first = [self.primary_eip] if self.primary_eip is not None else []
        return [*first, *self.secondary_eips, *(a for a, _ in self.tagged_secondary_eips)]

    @property
    def empty(self) -> bool:
        """True when nothing moves."""
        return not (self.addresses or self.enis or self.tagged_enis or self.routes or self.ips)

    def leave(self, what: str, why: str) -> None:
        """A resource found by a tag stays where it is; the result says why."""
        self.warnings.append(f"{what} was left where it is: {why}")


def carried(state: FailoverState, ips: tuple[str, ...] = ()) -> Moves:
    """What EC2 shows on the source: the Elastic IPs of its primary ENI, its movable
    secondary ENIs (service-owned ones stay), the routes to its primary ENI, and the
    floating IPs asked for (those an Elastic IP's move takes along aside)."""
    moves = Moves()
    primary = state.source.primary_eni
    for address in sorted(state.addresses, key=lambda a: a.public_ip):
        if primary is None or address.eni_id != primary.eni_id:
            continue
        if address.private_ip in primary.secondary_ips:
            moves.secondary_eips.append(address)
        elif moves.primary_eip is None:  # the primary IP (or none of the ENI's IPs yet)
            moves.primary_eip = address
        else:  # EC2 catching up with a displacement: one address per private IP
            moves.leave(
                address.public_ip,
                f"{moves.primary_eip.public_ip} is shown on the same primary IP",
            )
    moves.enis = sorted(
        (
            e
            for e in state.source.enis
            if e.attachment is not None
            and not e.attachment.is_primary
            and e.interface_type == "interface"
            and not e.requester_managed
        ),
        key=source_order,
    )
    moves.routes = _routes(state)
    with_eip = {str(a.private_ip) for a in moves.secondary_eips}
    moves.ips = [ip for ip in ips if ip not in with_eip]
    return moves


def tagged_addresses(state: FailoverState, guard: TagGuard | None, moves: Moves) -> None:
    """Unassociated addresses whose `eniops:holder` names the source (EC2's termination
    teardown disassociates them). One recorded on the source's primary IP goes to the
    target's primary IP, unless the source still carries one there; one recorded on a
    secondary IP still on the source moves with that IP; the rest stay."""
    source = state.source
    primary_ip = source.primary_ip
    source_primary = source.primary_eni
    secondary_ips = set(source_primary.secondary_ips) if source_primary is not None else set()
    recorded_primary: list[Address] = []
    unknown: list[Address] = []
    for address in sorted(state.addresses, key=lambda a: a.public_ip):
        holder = address.holder
        if address.associated or not _names(address.tags, holder, source, moves, address):
            continue
        assert holder is not None
        if not passes(moves, address.public_ip, functools.partial(_guard, guard, address)):
            continue
        ip = holder.private_ip
        if ip is None or primary_ip is None:
            unknown.append(address)
        elif ip == primary_ip:
            recorded_primary.append(address)
        elif ip in secondary_ips:
            moves.tagged_secondary_eips.append((address, ip))
        else:
            moves.leave(
                address.public_ip,
                f"its {HOLDER_TAG} tag records {ip}, which is not an IP of {source.instance_id}",
            )
    _choose_primary(moves, recorded_primary, unknown, source.instance_id)


def _choose_primary(
    moves: Moves, recorded: list[Address], unknown: list[Address], source_id: str
) -> None:
    """The primary IP's address is the one that was on the primary IP: the carried one, else
    the one address whose tag records the primary IP (or, with no IP recorded, the only one)."""
    if moves.primary_eip is not None:
        for address in (*recorded, *unknown):
            moves.leave(
                address.public_ip,
                f"the primary IP takes {moves.primary_eip.public_ip}, which {source_id} carries",
            )
        return
    candidates, others = (recorded, unknown) if recorded else (unknown, [])
    for address in others:
        moves.leave(address.public_ip, f"the primary IP takes {candidates[0].public_ip}")
    if len(candidates) == 1:
        moves.primary_eip, moves.primary_by_tag = candidates[0], True
        if candidates is unknown:
            moves.warnings.append(
                f"{candidates[0].public_ip} goes to the primary IP by its {HOLDER_TAG} tag "
                "alone: the tag records no IP to check it against"
            )
        return
    for address in candidates:
        moves.leave(
            address.public_ip,
            f"{len(candidates)} unassociated addresses name {source_id} in their "
            f"{HOLDER_TAG} tag; which was on its primary IP cannot be told",
        )


def _names(
    tags: Mapping[str, str],
    holder: HolderTag | None,
    source: Instance,
    moves: Moves,
    resource: Address | Eni,
) -> bool:
    """True when a holder tag names the source; a tag that does not read but begins with
    the source's id is named in the warnings."""
    if holder is not None:
        return holder.instance_id == source.instance_id
    raw = tags.get(HOLDER_TAG, "")
    if raw.startswith(source.instance_id):
        name = resource.public_ip if isinstance(resource, Address) else resource.eni_id
        moves.leave(name, f"its {HOLDER_TAG} tag {raw[:80]!r} does not read")
    return False


def tagged_enis(state: FailoverState, guard: TagGuard | None, moves: Moves) -> None:
    """ENIs eniops' tags tie to the source and EC2 shows free (or on the target, the
    source's move unfinished). Each must be where the source could have had it (its VPC and
    zone) and pass the checks of a move, or it stays."""
    source, target = state.source, state.target
    carried = {e.eni_id for e in moves.enis}
    for eni in sorted(state.tagged, key=source_order):
        if eni.eni_id in carried or not _tied_to_source(eni, source, target, moves):
            continue
        checks = (
            lambda e=eni: check.not_requester_managed(e),
            lambda e=eni: placing.same_vpc_and_az(e, source),
            lambda e=eni: placing.same_vpc_and_az(e, target),
            lambda e=eni: check.tag_guard(guard, e.eni_id, e.tags),
        )
        if all(passes(moves, eni.eni_id, c) for c in checks):
            moves.tagged_enis.append(eni)


def _tied_to_source(eni: Eni, source: Instance, target: Instance, moves: Moves) -> bool:
    intent, att = eni.intent, eni.attachment
    if intent is not None and intent.source == source.instance_id:
        if att is None:
            return True  # an interrupted move from the source, detached
        if att.instance_id == target.instance_id and not eni.detaching:
            if att.device_index == intent.device_index:
                return True  # attached by the source's move, not yet cleared
            moves.leave(
                eni.eni_id,
                f"its {MOVE_TAG} tag records index {intent.device_index}, but it is attached "
                f"to {target.instance_id} at index {att.device_index}: not that move's",
            )
        return False
    if intent is None and att is None:
        return _names(eni.tags, eni.holder, source, moves, eni)  # the teardown detached it
    return False


def passes(moves: Moves, name: str, rule: Callable[[], object]) -> bool:
    """Run a rule on a tag-found resource: a refusal leaves it, with the reason."""
    try:
        rule()
    except PreconditionFailed as refusal:
        moves.leave(name, refusal.message)
        return False
    return True


def source_order(eni: Eni) -> tuple[int, str]:
    if eni.attachment is not None:
        return (eni.attachment.device_index, eni.eni_id)
    intent = eni.intent
    return (intent.device_index if intent else 99, eni.eni_id)


def _routes(state: FailoverState) -> list[tuple[RouteTable, str]]:
    """The routes of the VPC that target the source's primary ENI (routes to a secondary
    ENI follow that ENI by themselves)."""
    primary = state.source.primary_eni
    if primary is None:
        return []
    return [
        (table, route.destination)
        for table in state.tables
        if table.vpc_id == state.target.vpc_id
        for route in table.routes
        if route.eni_id == primary.eni_id
    ]


def _guard(guard: TagGuard | None, address: Address) -> None:
    check.tag_guard(guard, address.allocation_id, address.tags)


def guard_carried(
    guard: TagGuard | None, state: FailoverState, moves: Moves, verdicts: check.Verdicts
) -> None:
    """`require_tag` on both instances and on everything the source carries: refused."""
    if guard is None:
        return
    carried = [moves.primary_eip] if moves.primary_eip else []
    tagged: list[tuple[str, Mapping[str, str]]] = [
        *((i.instance_id, i.tags) for i in (state.source, state.target)),
        *((a.allocation_id, a.tags) for a in (*carried, *moves.secondary_eips)),
        *((e.eni_id, e.tags) for e in moves.enis),
        *((t.route_table_id, t.tags) for t, _ in moves.routes),
    ]
    for resource_id, tags in dict(tagged).items():
        verdicts.check(check.tag_guard, guard, resource_id, tags)
