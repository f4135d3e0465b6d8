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

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import _inputs
from .. import _rules as check
from .._errors import InvalidInput, PreconditionFailed
from .._executor import Run, execute
from .._inputs import UNASSOCIATED, TagGuard
from .._model import ENIOPS_TAGS, Address, Eni, Instance, Limits, RouteTable
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
    """Every step, checked together on one read; or the first refusal. Pure."""
    source, target = state.source, state.target
    eips = _elastic_ips(state)
    enis = _enis(state)
    routes = _routes(state)
    before: dict[str, Any] = {
        "from": source.instance_id,
        "to": target.instance_id,
        "elastic_ips": [a.summary() for a, _ in eips],
        "enis": [e.eni_id for e in enis],
        "routes": [t.summary(d) for t, d in routes],
    }
    if not (eips or enis or routes):
        return Plan("failover_instance", (), before=before, after=before, composite=True)
    check.instance_state(target, EIP_TARGET_STATES if not enis else check.USABLE_INSTANCE_STATES)
    target_primary = check.primary_of(target)
    chains: list[Chain] = []
    warnings: list[str] = []
    chains.extend(_eip_chains(state, eips, target_primary, warnings))
    chains.extend(_eni_chains(state, enis))
    if routes:
        check.source_dest_check_off(target_primary)
        chains.extend(
            route_chain(t, d, target_primary, t.route(d), rollback=True) for t, d in routes
        )
    _guard_all(guard, state, eips, enis, routes)
    return Plan(
        "failover_instance",
        tuple(chains),
        before=before,
        after={
            "from": source.instance_id,
            "to": target.instance_id,
            "steps": [c.name for c in chains],
        },
        warnings=tuple(warnings),
        composite=True,
    )


def _elastic_ips(state: FailoverState) -> list[tuple[Address, bool]]:
    """The Elastic IPs to move, each with whether it is on a secondary private IP."""
    primary = state.source.primary_eni
    found: list[tuple[Address, bool]] = []
    for address in sorted(state.addresses, key=lambda a: a.public_ip):
        if primary is not None and address.eni_id == primary.eni_id:
            found.append((address, address.private_ip not in (None, primary.primary_ip)))
        elif not address.associated and address.holder_tag == state.source.instance_id:
            found.append((address, False))  # left behind by EC2's termination teardown
    return found


def _enis(state: FailoverState) -> list[Eni]:
    """The ENIs to move: attached secondary ones, and those eniops knows belong to the source."""
    source_id = state.source.instance_id
    target_id = state.target.instance_id
    found: dict[str, Eni] = {}
    for eni in state.source.enis:
        att = eni.attachment
        movable = eni.interface_type == "interface" and not eni.requester_managed
        # Service-owned interfaces (EFA, trunk, ...) stay: they are not ours to move. One
        # that is detaching (EC2 tearing a terminating instance down) is waited for, then moved.
        if att is not None and not att.is_primary and movable:
            found[eni.eni_id] = eni
    for eni in state.tagged:
        if eni.eni_id in found or eni.requester_managed:
            continue
        intent = eni.intent
        if check.eni_holder(eni) == source_id and intent is not None:
            found[eni.eni_id] = eni  # an interrupted move from the source
        elif intent is not None and intent.source == source_id and eni.instance_id == target_id:
            found[eni.eni_id] = eni  # attached to the target, the move not yet cleared
        elif eni.attachment is None and intent is None and eni.holder_tag == source_id:
            found[eni.eni_id] = eni  # detached by EC2's termination teardown
    return sorted(found.values(), key=_source_order)


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


def _eip_chains(
    state: FailoverState,
    eips: list[tuple[Address, bool]],
    target_primary: Eni,
    warnings: list[str],
) -> list[Chain]:
    source = state.source
    source_primary = source.primary_eni
    moving = [a.allocation_id for a, _ in eips]
    chains: list[Chain] = []
    primary_taken = False
    for address, on_secondary in eips:
        if on_secondary:
            assert source_primary is not None
            chains.append(_secondary_ip_chain(state, address, source_primary, target_primary))
            continue
        if primary_taken:
            warnings.append(
                f"{address.public_ip} was left behind: {target_primary.primary_ip} already "
                "takes another Elastic IP of the source"
            )
            continue
        ip = target_primary.primary_ip
        displaced = check.eip_on_target(state.addresses, moving, target_primary, ip)
        check.no_eip_on_target(displaced, target_primary, ip, replace=False)
        expected = source.instance_id if address.associated else UNASSOCIATED
        holders = [address.eni_id, address.instance_id or source.instance_id]
        check.expect_current(expected, address.allocation_id, holders if address.associated else [])
        chains.append(remap_chain(address, target_primary, ip, expected, holders))
        primary_taken = True
    return chains


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


def _eni_chains(state: FailoverState, enis: list[Eni]) -> list[Chain]:
    """Move chains for every ENI, their device indexes chosen together on the target."""
    target = state.target
    arriving = [e for e in enis if e.instance_id == target.instance_id and not e.detaching]
    moving = [e for e in enis if e not in arriving]
    requested: list[int | None] = []
    for eni in moving:
        intent = eni.intent
        recorded = intent.device_index if intent and intent.target == target.instance_id else None
        requested.append(recorded if recorded not in target.used_device_indexes(0) else None)
    leaving = [e.eni_id for e in moving if e.instance_id == target.instance_id]
    indexes = check.choose_device_indexes(target, state.limits, requested, leaving=leaving)
    chains = []
    for eni, index in zip(moving, indexes, strict=True):
        check.not_requester_managed(eni)
        chains.append(
            move_chain(eni, target, state.limits, EniRequest(eni.eni_id), device_index=index)
        )
    chains.extend(move_chain(e, target, state.limits, EniRequest(e.eni_id)) for e in arriving)
    return chains


def _guard_all(
    guard: TagGuard | None,
    state: FailoverState,
    eips: list[tuple[Address, bool]],
    enis: list[Eni],
    routes: list[tuple[RouteTable, str]],
) -> None:
    """`require_tag` on every resource the failover would change."""
    if guard is None:
        return
    for instance in (state.source, state.target):
        check.tag_guard(guard, instance.instance_id, instance.tags)
    for address, _ in eips:
        check.tag_guard(guard, address.allocation_id, address.tags)
    for eni in enis:
        check.tag_guard(guard, eni.eni_id, eni.tags)
    for table, _ in routes:
        check.tag_guard(guard, table.route_table_id, table.tags)
