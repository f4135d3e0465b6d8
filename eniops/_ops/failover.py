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
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .._core import _inputs
from .._core._errors import InvalidInput, PreconditionFailed
from .._core._inputs import UNASSOCIATED, TagGuard
from .._core._result import Result
from .._core._threads import at_once
from .._executor import Run
from .._plan import Chain, Plan
from .._state import _rules as check
from .._state._model import Address, Attachment, Eni, Instance, Limits, Subnet
from .._state._tags import ENIOPS_TAGS, IP_MOVE_TAG, MOVE_TAG
from .._state._views import Described
from . import _floating as floating
from . import _ip_rules as ip_rules
from . import _picking as picking
from . import _placing as placing
from ._ipv4 import Assignment
from ._moving import Placement, move_chain
from ._operation import Body, Common, check_rules, run
from ._picking import FailoverState
from .remap import eip_on_target, no_eip_on_target, remap_chain
from .route import route_chain, source_dest_check_off

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .._core._keywords import CommonKeywords


def failover_instance(
    from_instance: str,
    *,
    to_instance: str,
    ips: tuple[str, ...] | list[str] = (),
    **common: Unpack[CommonKeywords],
) -> Result:
    """Move every Elastic IP, secondary ENI and route `from_instance` carries to `to_instance`.

    `ips`: floating private IPs (IPv4 or IPv6) of the source's primary ENI to move with it
    to the target's (same subnet; IPv6 in two crash-safe steps); one no ENI holds any more
    (the source terminated) is assigned to the target.

    Every step is guarded by ``expect_current=from_instance``. All steps' preconditions are
    checked together on one read before the first change; then the steps run at once.
    A second run finds nothing to move and changes nothing. `Result.children` holds one
    `Result` per step.

    Args:
        from_instance: the instance that failed (or is leaving).
        to_instance: its standby.
        ips: floating private IPs (IPv4 or IPv6) to move with it, as above.
        **common: the common keywords (`eniops.CommonKeywords`): mode, ec2, session,
            region, timeout (default 300 s), require_tag, role_arn, external_id.

    Raises:
        InvalidInput; NotFound; PreconditionFailed (any step's, before any change);
        PartialFailure when some steps changed things and others failed (details list every
        step's outcome); AwsError; OperationTimeout.
    """
    keywords = Common.of("failover_instance", common, timeout_s=FAILOVER.timeout_s)
    request = FailoverRequest.of(
        from_instance=from_instance, to_instance=to_instance, ips=ips, guard=keywords.guard
    )
    return run(FAILOVER, request, keywords)


class StaleTrigger(Exception):
    """What set a failover off no longer holds when it reads (the instance runs again, the
    alarm is back to OK): nothing is planned, nothing changes."""


@dataclass(frozen=True)
class Fresh:
    """What must still hold when a failover reads (a Lambda event's trigger): a read that
    rides with the failover's own and returns the judge of the source as read, which raises
    (`StaleTrigger`, or anything else that must stop the failover) before any plan."""

    read: Callable[[], Callable[[Instance], None]]


@dataclass(frozen=True)
class FailoverRequest:
    """`failover_instance`'s arguments, parsed."""

    source: str
    target: str
    guard: TagGuard | None = None
    ips: tuple[str, ...] = ()
    #: Set by the Lambda only: what its trigger must still show.
    fresh: Fresh | None = None
    #: Set by the Lambda only: the source's `eniops:floating-ips` tag adds floating IPs.
    ips_from_tag: bool = False

    @classmethod
    def of(
        cls,
        *,
        from_instance: object,
        to_instance: object,
        ips: object = (),
        guard: TagGuard | None,
        ips_from_tag: bool = False,
        operation: str = "failover_instance",
    ) -> FailoverRequest:
        """`failover_instance`'s own arguments (or `check_failover`'s, the same: `operation`
        names whose), checked against its rules and parsed; the Lambda's failovers and
        checks add the floating IPs the source's tag names (`ips_from_tag`)."""
        check_rules(operation, to_instance=to_instance)
        source = _inputs.instance_id(from_instance, "from_instance")
        target = _inputs.instance_id(to_instance, "to_instance")
        if source == target:
            raise InvalidInput("from_instance and to_instance are the same instance")
        floating = _inputs.ip_list(ips, "ips")
        return cls(source, target, guard, floating, ips_from_tag=ips_from_tag)


def read_failover(run: Run, request: FailoverRequest, *, status: bool = False) -> FailoverState:
    """One round trip of reads (and the target type's limits, cached per client).

    DescribeInstances shows the instances' ENIs but not their tags: eniops' own tags come
    from a read by tag key; the tags of every attached ENI are read only for a tag guard;
    who holds the floating IPs (`ips`) by a read by address, per family; the standby's
    status checks only for a readiness check (`status`). Floating IPs named by the source's
    `eniops:floating-ips` tag (`ips_from_tag`) are known only once it is read: who holds
    them is read then, when it names any.
    """
    reader = run.reader
    source_id, target_id, with_tags = request.source, request.target, request.guard is not None
    ips, fresh = list(request.ips), request.fresh
    instances, addresses, tagged, tables, attached, holding, checks, also = at_once(
        lambda: reader.instances([source_id, target_id]),
        reader.addresses,
        lambda: reader.enis_where("tag-key", [*ENIOPS_TAGS, IP_MOVE_TAG]),
        reader.route_tables,
        lambda: (
            reader.enis_where("attachment.instance-id", [source_id, target_id]) if with_tags else []
        ),
        lambda: floating.holding(run, ips),
        lambda: reader.instance_status(target_id) if status else None,
        fresh.read if fresh is not None else lambda: None,
    )
    if also is not None:
        also(instances[source_id])
    hinted: list[str] = []
    if request.ips_from_tag:
        named, _ = floating.tag_ips(instances[source_id])
        hinted = [ip for ip in named if ip not in ips]
        holding = [*holding, *floating.holding(run, hinted)]
    full = {e.eni_id: e for e in (*attached, *tagged)}
    source = instances[source_id].with_enis(full)
    target = instances[target_id].with_enis(full)
    holders = floating.holders(holding, target.vpc_id)
    waiting, _ = floating.on_their_way(source, tagged, ips, holders)
    free = [ip for ip in ips if ip not in holders and ip not in waiting]
    limits, subnet = _limits_and_subnet(run, target, free)
    run.mark_read()
    state = (source, target, tuple(addresses), tuple(tagged), tuple(tables), limits)
    return FailoverState(*state, holders, subnet, checks, tuple(ips), tuple(hinted))


def _limits_and_subnet(run: Run, target: Instance, free: list[str]) -> tuple[Limits, Subnet | None]:
    """The target type's limits (cached per client) and, only for floating IPs no ENI holds,
    the target's subnet (to check them against), at once."""
    reader = run.reader
    subnet_id = target.primary_eni.subnet_id if target.primary_eni else None
    limits, subnet = at_once(
        lambda: reader.limits(target.instance_type),
        lambda: reader.subnet(subnet_id) if free and subnet_id else None,
    )
    return limits, subnet


def plan_failover_instance(request: FailoverRequest, state: FailoverState) -> Plan:
    """Every step, checked together on one read; or the first refusal. Pure."""
    return plan_failover(request, state, check.Verdicts())


def plan_failover(request: FailoverRequest, state: FailoverState, verdicts: check.Verdicts) -> Plan:
    """Every step of the failover, each rule met as `verdicts` says: the first refusal
    raised (an operation), or every refusal noted while the rest is planned (readiness).

    What the source carries decides: a refusal of any of it refuses the whole failover.
    Resources found only by eniops' tags fill the gaps a teardown or a killed move left, each
    only if the tag agrees with what EC2 shows and it passes its checks; one that does not is
    left where it is with a warning and never blocks the rest.
    """
    source, target, guard = state.source, state.target, request.guard
    verdicts.check(check.same_vpc_instances, source, target)
    named, notes = floating.hinted(state, floating.with_waiting(state, state.hinted, []))
    moves = picking.carried(state, (*state.ips, *named))
    moves.warnings.extend(notes)
    picking.guard_carried(guard, state, moves, verdicts)
    picking.tagged_addresses(state, guard, moves)
    picking.tagged_enis(state, guard, moves)
    before = _before(state, moves)
    if moves.empty:
        return Plan("failover_instance", (), before, before, warnings=tuple(moves.warnings))
    states = check.USABLE_INSTANCE_STATES if moves.enis else check.EIP_TARGET_STATES
    verdicts.check(check.instance_state, target, states)
    chains: list[Chain] = []
    target_primary = verdicts.check(check.primary_of, target)
    if target_primary is not None:
        chains.extend(_eip_chains(state, moves, target_primary, verdicts))
        chains.extend(floating.chains(state, moves, target_primary, verdicts))
    chains.extend(_eni_chains(state, moves, verdicts))
    if moves.routes and target_primary is not None:
        verdicts.check(source_dest_check_off, target_primary)
        chains.extend(
            route_chain(t, d, target_primary, t.route(d), rollback=True) for t, d in moves.routes
        )
    after = {
        "from": source.instance_id,
        "to": target.instance_id,
        "steps": [c.name for c in chains],
    }
    return Plan(
        "failover_instance",
        tuple(chains),
        before=before,
        after=after,
        warnings=tuple(moves.warnings),
        composite=True,
    )


def _before(state: FailoverState, moves: picking.Moves) -> Described:
    return {
        "from": state.source.instance_id,
        "to": state.target.instance_id,
        "elastic_ips": [a.summary() for a in moves.addresses],
        "enis": [e.eni_id for e in (*moves.enis, *moves.tagged_enis)],
        "ips": list(moves.ips),
        "routes": [t.summary(d) for t, d in moves.routes],
    }


def _eip_chains(
    state: FailoverState, moves: picking.Moves, target_primary: Eni, verdicts: check.Verdicts
) -> list[Chain]:
    chains: list[Chain] = []
    address = moves.primary_eip
    if address is not None:
        chain = _primary_chain(state, moves, address, target_primary, verdicts)
        if chain is not None:
            chains.append(chain)
    source_primary = state.source.primary_eni
    for address in moves.secondary_eips:
        assert source_primary is not None  # `picking` found it on the source's primary ENI
        ip = str(address.private_ip)
        if verdicts.holds(ip_rules.one_subnet, ip, state.source, state.target):
            guarded = {ip: source_primary.eni_id}
            chains.append(Assignment(target_primary, (ip,), True, (address,), guarded).chain())
    for address, ip in moves.tagged_secondary_eips:
        assert source_primary is not None
        if source_primary.subnet_id != target_primary.subnet_id:
            moves.leave(address.public_ip, f"{ip} cannot follow it into another subnet")
            continue
        chains.append(_tagged_secondary_chain(address, ip, source_primary, target_primary))
    return chains


def _primary_chain(
    state: FailoverState,
    moves: picking.Moves,
    address: Address,
    target_primary: Eni,
    verdicts: check.Verdicts,
) -> Chain | None:
    """The address of the source's primary IP to the target's primary IP; a tag-found one
    that would displace another address stays instead of refusing the failover."""
    source_id = state.source.instance_id
    ip = target_primary.primary_ip
    displaced = eip_on_target(
        state.addresses, [a.allocation_id for a in moves.addresses], target_primary, ip
    )
    if moves.primary_by_tag:
        rule = functools.partial(no_eip_on_target, displaced, target_primary, ip, False)
        if not picking.passes(moves, address.public_ip, rule):
            return None
        return remap_chain(address, target_primary, ip, UNASSOCIATED, [])
    verdicts.check(no_eip_on_target, displaced, target_primary, ip, False)
    holders = [address.eni_id, address.instance_id or source_id]
    verdicts.check(check.expect_current, source_id, address.allocation_id, holders)
    return remap_chain(address, target_primary, ip, source_id, holders)


def _tagged_secondary_chain(
    address: Address, ip: str, source_primary: Eni, target_primary: Eni
) -> Chain:
    """The secondary IP a tag-found address was on moves to the target (from the source's
    primary ENI only), then the address is associated with it (only while unassociated)."""
    assigning = Assignment(target_primary, (ip,), True, (), {ip: source_primary.eni_id})
    moving = assigning.chain()
    associating = remap_chain(address, target_primary, ip, UNASSOCIATED, [])
    return dataclasses.replace(
        associating,
        name=f"{moving.name} with {address.public_ip}",
        items=(dataclasses.replace(assigning.change(), role="step"), *associating.items),
        subjects=(*associating.subjects, *moving.subjects),
    )


def _eni_chains(
    state: FailoverState, moves: picking.Moves, verdicts: check.Verdicts
) -> list[Chain]:
    """Move chains for the carried ENIs, their device indexes chosen together on the
    target (a refusal refuses the failover); then for each tag-found ENI in the slots left
    (none left: it stays)."""
    target, limits = state.target, state.limits
    chains: list[Chain] = []
    requested = [_recorded(e, target, limits, moves) for e in moves.enis]
    indexes = verdicts.check(placing.choose_device_indexes, target, limits, requested)
    if indexes is not None:  # else noted: the carried ENIs have no place to go
        taken = frozenset(indexes)
        for eni, index in zip(moves.enis, indexes, strict=True):
            placement = Placement(index, chosen=True, avoid=taken - {index})
            chain = verdicts.check(move_chain, eni, target, limits, placement)
            chains.extend([chain] if chain is not None else [])
    occupied = _with_attached(target, zip(moves.enis, indexes or [], strict=False))
    for eni in moves.tagged_enis:
        # Found by a tag, not seen on the source: the DeleteOnTermination an intent records
        # is not set (`trust_intent`), so a forged tag cannot have EC2 delete someone's ENI.
        if eni.instance_id == target.instance_id:  # on the target already: finish the move
            chains.append(move_chain(eni, target, limits, Placement(), trust_intent=False))
            continue
        wanted = _recorded(eni, target, limits, moves)
        if wanted in occupied.used_device_indexes(0):
            wanted = None
        try:
            index = placing.choose_device_index(occupied, limits, wanted)
            placement = Placement(index, chosen=True)  # `occupied` has the others' places
            chains.append(move_chain(eni, occupied, limits, placement, trust_intent=False))
        except PreconditionFailed as refusal:
            moves.leave(eni.eni_id, refusal.message)
            continue
        occupied = _with_attached(occupied, [(eni, index)])
    return chains


def _recorded(eni: Eni, target: Instance, limits: Limits, moves: picking.Moves) -> int | None:
    """The device index an interrupted move recorded for the target, if it is one the
    target's type has (a forged or impossible value is ignored, with a warning)."""
    intent = eni.intent
    if intent is None or intent.target != target.instance_id:
        return None
    index = placing.recorded_index(intent, limits)
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


FAILOVER = Body("failover_instance", read_failover, plan_failover_instance, 300.0)
