"""`failover_instance`: move everything a failed instance carries to its standby, as one plan.

One read of everything (both instances, every Elastic IP, the ENIs of both and the ENIs
eniops tagged, the route tables), then every step's preconditions checked together: the
free slots and device indexes for all moving ENIs at once, zones, VPCs, states, tags,
`target-has-eip`, `SourceDestCheck`. Only then the first change; apply refuses exactly what
plan refuses, and then nothing has changed. The steps then run at once.

What moves: every Elastic IP on the source's primary ENI (primary IP to primary IP; one on
a secondary IP moves with that IP), every movable secondary ENI, every route of the VPC
that targets the source's primary ENI, and what EC2's termination teardown left behind:
Elastic IPs unassociated and ENIs available whose `eniops:holder` is the source, and ENIs
whose interrupted move (`eniops:move`) started from it.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .. import _inputs
from .. import _rules as check
from .._errors import InvalidInput, PreconditionFailed
from .._executor import Run, execute
from .._inputs import UNASSOCIATED, TagGuard
from .._model import (
    ENIOPS_TAGS,
    HOLDER_TAG,
    MOVE_TAG,
    Address,
    Attachment,
    Eni,
    HolderTag,
    Instance,
    Limits,
    RouteTable,
)
from .._plan import Chain, Plan
from .._result import Mode, Result
from ._common import common, start
from .eni import EniRequest, move_chain
from .ips import ip_chain
from .remap import EIP_TARGET_STATES, remap_chain
from .route import route_chain

if TYPE_CHECKING:
    import boto3
    from mypy_boto3_ec2 import EC2Client


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


def failover_instance(
    from_instance: str,
    *,
    to_instance: str,
    mode: Mode = "apply",
    ec2: EC2Client | None = None,
    session: boto3.session.Session | None = None,
    region: str | None = None,
    timeout: float = 300.0,
    require_tag: str | None = None,
    role_arn: str | None = None,
) -> Result:
    """Move every Elastic IP, secondary ENI and route `from_instance` carries to `to_instance`.

    Every step is guarded by ``expect_current=from_instance``. All steps' preconditions are
    checked together on one read before the first change; then the steps run at once.
    A second run finds nothing to move and changes nothing. `Result.children` holds one
    `Result` per step.

    Raises:
        InvalidInput; NotFound; PreconditionFailed (any step's, before any change);
        PartialFailure when some steps changed things and others failed (details list every
        step's outcome); AwsError; OperationTimeout.
    """
    source_id = _inputs.instance_id(from_instance, "from_instance")
    target_id = _inputs.instance_id(to_instance, "to_instance")
    if source_id == target_id:
        raise InvalidInput("from_instance and to_instance are the same instance")
    keywords = common(
        mode=mode,
        ec2=ec2,
        session=session,
        region=region,
        timeout=timeout,
        require_tag=require_tag,
        role_arn=role_arn,
    )
    run = start("failover_instance", keywords)
    state = read(run, source_id, target_id, with_tags=keywords.guard is not None)
    return execute(plan(state, keywords.guard), run)


def read(run: Run, source_id: str, target_id: str, *, with_tags: bool) -> FailoverState:
    """One round trip of reads (and the target type's limits, cached per client).

    DescribeInstances shows the instances' ENIs but not their tags: eniops' own tags come
    from a read by tag key; the tags of every attached ENI are read only for a tag guard.
    """
    reader = run.reader
    instances, addresses, tagged, tables, attached = reader.at_once(
        lambda: reader.instances([source_id, target_id]),
        reader.addresses,
        lambda: reader.enis_where("tag-key", list(ENIOPS_TAGS)),
        reader.route_tables,
        lambda: (
            reader.enis_where("attachment.instance-id", [source_id, target_id]) if with_tags else []
        ),
    )
    full = {e.eni_id: e for e in (*attached, *tagged)}
    source = instances[source_id].with_enis(full)
    target = instances[target_id].with_enis(full)
    limits = reader.limits(target.instance_type)
    run.mark_read()
    return FailoverState(source, target, tuple(addresses), tuple(tagged), tuple(tables), limits)


def plan(state: FailoverState, guard: TagGuard | None) -> Plan:
    """Every step, checked together on one read; or the first refusal. Pure.

    What the source carries decides: a refusal of any of it refuses the whole failover.
    Resources found only by eniops' tags fill the gaps a teardown or a killed move left, each
    only if the tag agrees with what EC2 shows and it passes its checks; one that does not is
    left where it is with a warning and never blocks the rest.
    """
    source, target = state.source, state.target
    check.same_vpc_instances(source, target)
    moves = _carried(state)
    _guard_carried(guard, state, moves)
    _tagged_addresses(state, guard, moves)
    _tagged_enis(state, guard, moves)
    before: dict[str, Any] = {
        "from": source.instance_id,
        "to": target.instance_id,
        "elastic_ips": [a.summary() for a in moves.addresses],
        "enis": [e.eni_id for e in (*moves.enis, *moves.tagged_enis)],
        "routes": [t.summary(d) for t, d in moves.routes],
    }
    if moves.empty:
        return Plan(
            "failover_instance", (), before=before, after=before, warnings=tuple(moves.warnings)
        )
    check.instance_state(target, check.USABLE_INSTANCE_STATES if moves.enis else EIP_TARGET_STATES)
    target_primary = check.primary_of(target)
    chains: list[Chain] = [*_eip_chains(state, moves, target_primary)]
    chains.extend(_eni_chains(state, moves))
    if moves.routes:
        check.source_dest_check_off(target_primary)
        chains.extend(
            route_chain(t, d, target_primary, t.route(d), rollback=True) for t, d in moves.routes
        )
    return Plan(
        "failover_instance",
        tuple(chains),
        before=before,
        after={
            "from": source.instance_id,
            "to": target.instance_id,
            "steps": [c.name for c in chains],
        },
        warnings=tuple(moves.warnings),
        composite=True,
    )


@dataclass
class _Moves:
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
    warnings: list[str] = field(default_factory=list)

    @property
    def addresses(self) -> list[Address]:
        """Every Elastic IP that moves."""
        first = [self.primary_eip] if self.primary_eip is not None else []
        return [*first, *self.secondary_eips, *(a for a, _ in self.tagged_secondary_eips)]

    @property
    def empty(self) -> bool:
        """True when nothing moves."""
        return not (self.addresses or self.enis or self.tagged_enis or self.routes)

    def leave(self, what: str, why: str) -> None:
        """A resource found by a tag stays where it is; the result says why."""
        self.warnings.append(f"{what} was left where it is: {why}")


def _carried(state: FailoverState) -> _Moves:
    """What EC2 shows on the source: the Elastic IPs of its primary ENI, its movable
    secondary ENIs (service-owned ones stay), and the routes to its primary ENI."""
    moves = _Moves()
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
        key=_source_order,
    )
    moves.routes = _routes(state)
    return moves


def _tagged_addresses(state: FailoverState, guard: TagGuard | None, moves: _Moves) -> None:
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
        if not _passes(moves, address.public_ip, functools.partial(_guard, guard, address)):
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
    moves: _Moves, recorded: list[Address], unknown: list[Address], source_id: str
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
    moves: _Moves,
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


def _tagged_enis(state: FailoverState, guard: TagGuard | None, moves: _Moves) -> None:
    """ENIs eniops' tags tie to the source and EC2 shows free (or on the target, the
    source's move unfinished). Each must be where the source could have had it (its VPC and
    zone) and pass the checks of a move, or it stays."""
    source, target = state.source, state.target
    carried = {e.eni_id for e in moves.enis}
    for eni in sorted(state.tagged, key=_source_order):
        if eni.eni_id in carried or not _tied_to_source(eni, source, target, moves):
            continue
        checks = (
            lambda e=eni: check.not_requester_managed(e),
            lambda e=eni: check.same_vpc_and_az(e, source),
            lambda e=eni: check.same_vpc_and_az(e, target),
            lambda e=eni: check.tag_guard(guard, e.eni_id, e.tags),
        )
        if all(_passes(moves, eni.eni_id, c) for c in checks):
            moves.tagged_enis.append(eni)


def _tied_to_source(eni: Eni, source: Instance, target: Instance, moves: _Moves) -> bool:
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


def _passes(moves: _Moves, name: str, rule: Callable[[], object]) -> bool:
    """Run a rule on a tag-found resource: a refusal leaves it, with the reason."""
    try:
        rule()
    except PreconditionFailed as refusal:
        moves.leave(name, refusal.message)
        return False
    return True


def _source_order(eni: Eni) -> tuple[int, str]:
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


def _eip_chains(state: FailoverState, moves: _Moves, target_primary: Eni) -> list[Chain]:
    chains: list[Chain] = []
    address = moves.primary_eip
    if address is not None:
        chain = _primary_chain(state, moves, address, target_primary)
        if chain is not None:
            chains.append(chain)
    source_primary = state.source.primary_eni
    for address in moves.secondary_eips:
        assert source_primary is not None
        chains.append(_secondary_ip_chain(state, address, source_primary, target_primary))
    for address, ip in moves.tagged_secondary_eips:
        assert source_primary is not None
        if source_primary.subnet_id != target_primary.subnet_id:
            moves.leave(address.public_ip, f"{ip} cannot follow it into another subnet")
            continue
        chains.append(_tagged_secondary_chain(address, ip, source_primary, target_primary))
    return chains


def _primary_chain(
    state: FailoverState, moves: _Moves, address: Address, target_primary: Eni
) -> Chain | None:
    """The address of the source's primary IP to the target's primary IP; a tag-found one
    that would displace another address stays instead of refusing the failover."""
    source_id = state.source.instance_id
    ip = target_primary.primary_ip
    displaced = check.eip_on_target(
        state.addresses, [a.allocation_id for a in moves.addresses], target_primary, ip
    )
    if moves.primary_by_tag:
        rule = lambda: check.no_eip_on_target(displaced, target_primary, ip, replace=False)  # noqa: E731
        if not _passes(moves, address.public_ip, rule):
            return None
        return remap_chain(address, target_primary, ip, UNASSOCIATED, [])
    check.no_eip_on_target(displaced, target_primary, ip, replace=False)
    holders = [address.eni_id, address.instance_id or source_id]
    check.expect_current(source_id, address.allocation_id, holders)
    return remap_chain(address, target_primary, ip, source_id, holders)


def _secondary_ip_chain(
    state: FailoverState, address: Address, source_primary: Eni, target_primary: Eni
) -> Chain:
    """An Elastic IP on a secondary IP moves with that IP, which needs one subnet."""
    if target_primary.subnet_id != source_primary.subnet_id:
        raise PreconditionFailed(
            "vpc-mismatch" if state.target.vpc_id != state.source.vpc_id else "ip-outside-subnet",
            f"{address.public_ip} is on secondary IP {address.private_ip}; moving it needs "
            "both primary ENIs in one subnet",
            details={
                "address": address.summary(),
                "source_subnet": source_primary.subnet_id,
                "target_subnet": target_primary.subnet_id,
            },
        )
    ip = str(address.private_ip)
    return ip_chain(target_primary, (ip,), True, [address], {ip: source_primary.eni_id})


def _tagged_secondary_chain(
    address: Address, ip: str, source_primary: Eni, target_primary: Eni
) -> Chain:
    """The secondary IP a tag-found address was on moves to the target (from the source's
    primary ENI only), then the address is associated with it (only while unassociated)."""
    moving = ip_chain(target_primary, (ip,), True, [], {ip: source_primary.eni_id})
    associate = remap_chain(address, target_primary, ip, UNASSOCIATED, [])
    return dataclasses.replace(
        moving,
        name=f"{moving.name} with {address.public_ip}",
        items=(*moving.items, *associate.items),
        subjects=(*moving.subjects, *associate.subjects),
        after={**moving.after, **associate.after},
        holders=associate.holders,
        shows={**moving.shows, **associate.shows},
    )


def _eni_chains(state: FailoverState, moves: _Moves) -> list[Chain]:
    """Move chains for the carried ENIs, their device indexes chosen together on the
    target (a refusal refuses the failover); then for each tag-found ENI in the slots left
    (none left: it stays)."""
    target, limits = state.target, state.limits
    requested = [_recorded(e, target, limits, moves) for e in moves.enis]
    indexes = check.choose_device_indexes(target, limits, requested)
    chains = [
        move_chain(eni, target, limits, EniRequest(eni.eni_id), device_index=index)
        for eni, index in zip(moves.enis, indexes, strict=True)
    ]
    occupied = _with_attached(target, zip(moves.enis, indexes, strict=True))
    for eni in moves.tagged_enis:
        if eni.instance_id == target.instance_id:  # on the target already: finish the move
            chains.append(move_chain(eni, target, limits, EniRequest(eni.eni_id)))
            continue
        wanted = _recorded(eni, target, limits, moves)
        if wanted in occupied.used_device_indexes(0):
            wanted = None
        try:
            index = check.choose_device_index(occupied, limits, wanted)
            chains.append(
                move_chain(eni, occupied, limits, EniRequest(eni.eni_id), device_index=index)
            )
        except PreconditionFailed as refusal:
            moves.leave(eni.eni_id, refusal.message)
            continue
        occupied = _with_attached(occupied, [(eni, index)])
    return chains


def _recorded(eni: Eni, target: Instance, limits: Limits, moves: _Moves) -> int | None:
    """The device index an interrupted move recorded for the target, if it is one the
    target's type has (a forged or impossible value is ignored, with a warning)."""
    intent = eni.intent
    if intent is None or intent.target != target.instance_id:
        return None
    index = check.recorded_index(intent, limits)
    if index is None:
        moves.warnings.append(
            f"{eni.eni_id}: the device index its {MOVE_TAG} tag records "
            f"({str(intent.device_index)[:20]}) is not one {limits.instance_type} has; ignored"
        )
    return index


def _with_attached(instance: Instance, placed: Iterable[tuple[Eni, int]]) -> Instance:
    """`instance` as it will be once these ENIs are attached at these device indexes."""
    more = tuple(
        dataclasses.replace(
            eni,
            attachment=Attachment(
                f"planned-{eni.eni_id}", instance.instance_id, index, 0, "attached", False
            ),
        )
        for eni, index in placed
    )
    return dataclasses.replace(instance, enis=(*instance.enis, *more))


def _guard(guard: TagGuard | None, address: Address) -> None:
    check.tag_guard(guard, address.allocation_id, address.tags)


def _guard_carried(guard: TagGuard | None, state: FailoverState, moves: _Moves) -> None:
    """`require_tag` on both instances and on everything the source carries: refused."""
    if guard is None:
        return
    for instance in (state.source, state.target):
        check.tag_guard(guard, instance.instance_id, instance.tags)
    for address in (*([moves.primary_eip] if moves.primary_eip else []), *moves.secondary_eips):
        _guard(guard, address)
    for eni in moves.enis:
        check.tag_guard(guard, eni.eni_id, eni.tags)
    for table, _ in moves.routes:
        check.tag_guard(guard, table.route_table_id, table.tags)
