"""`move_eni`, `attach_eni`, `detach_eni`: move interfaces without stranding them.

A move writes its intent (`eniops:move`) on the ENI before the detach, detaches by
`AttachmentId` (a stale attachment cannot be detached by mistake), waits until the ENI is
available, attaches, waits until it is attached, restores `DeleteOnTermination`, and only
then removes the intent. An ENI that is `detaching` or `available` with an intent counts as
held by the instance it moves from, so re-running an interrupted move completes it at the
recorded device index. A failed attach puts the ENI back on its source, or the error says
exactly where it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import _inputs
from .. import _rules as check
from .._executor import Run, execute
from .._inputs import TagGuard
from .._model import MOVE_TAG, Eni, HolderTag, Instance, Limits, MoveIntent
from .._plan import (
    Chain,
    Change,
    DeletesOnTermination,
    EniAttached,
    EniDetached,
    Plan,
    Ref,
    Subject,
    Tagged,
    Wait,
)
from .._result import Mode, Result
from ._common import common, start

if TYPE_CHECKING:
    import boto3
    from mypy_boto3_ec2 import EC2Client

HOT_ATTACH_WARNING = (
    "after a hot or warm attach, operating systems other than Amazon Linux and Windows may "
    "need the interface, its address and routes configured by hand"
)
BANDWIDTH_WARNING = "a second network interface adds no bandwidth to the instance"
FORCE_WARNING = (
    "forced detach: the device index may stay unusable and instance metadata stale on "
    "the source instance until it is stopped and started"
)


@dataclass(frozen=True)
class EniRequest:
    """The arguments of `move_eni`, `attach_eni` and `detach_eni`, parsed."""

    eni_id: str
    target: str | None = None
    device_index: int | None = None
    expected: str | None = None
    force: bool = False
    allow_same_subnet: bool = False
    rollback: bool = True


@dataclass(frozen=True)
class EniState:
    """The ENI, the target instance (with its type's limits) and, for a tag guard, the source."""

    eni: Eni
    target: Instance | None = None
    limits: Limits | None = None
    source: Instance | None = None


def move_eni(
    eni: str,
    *,
    to_instance: str,
    device_index: int | None = None,
    expect_current: str | None = None,
    force_detach: bool = False,
    allow_same_subnet: bool = False,
    rollback: bool = True,
    mode: Mode = "apply",
    ec2: EC2Client | None = None,
    session: boto3.session.Session | None = None,
    region: str | None = None,
    timeout: float = 300.0,
    require_tag: str | None = None,
    role_arn: str | None = None,
) -> Result:
    """Move an ENI (with its MAC, IPs, security groups and Elastic IPs) to `to_instance`.

    Tag the intent, detach by `AttachmentId`, wait until available, attach, wait until
    attached, restore `DeleteOnTermination` if the source attachment had it, clear the
    intent. If the attach fails, the ENI goes back to the source at its old device index
    (unless `rollback=False`). Re-running an interrupted move completes it.

    Raises:
        InvalidInput; NotFound; Conflict (``expect-mismatch``); PreconditionFailed
        (``primary-eni``, ``requester-managed``, ``vpc-mismatch``, ``az-mismatch``,
        ``instance-state``, ``attachment-limit``, ``device-index-in-use``, ``same-subnet``,
        ``tag-guard``); AwsError; OperationTimeout (details say where the ENI is);
        PartialFailure (``rolled_back`` says whether the ENI went back to the source).
    """
    request = EniRequest(
        eni_id=_inputs.eni_id(eni),
        target=_inputs.instance_id(to_instance, "to_instance"),
        device_index=_inputs.device_index(device_index),
        expected=_inputs.expect_current(expect_current),
        force=_inputs.flag(force_detach, "force_detach"),
        allow_same_subnet=_inputs.flag(allow_same_subnet, "allow_same_subnet"),
        rollback=_inputs.flag(rollback, "rollback"),
    )
    keywords = common(
        mode=mode,
        ec2=ec2,
        session=session,
        region=region,
        timeout=timeout,
        require_tag=require_tag,
        role_arn=role_arn,
    )
    run = start("move_eni", keywords)
    state = read(run, request, with_source=keywords.guard is not None)
    return execute(plan_move(state, request, keywords.guard), run)


def attach_eni(
    eni: str,
    *,
    instance: str,
    device_index: int | None = None,
    allow_same_subnet: bool = False,
    mode: Mode = "apply",
    ec2: EC2Client | None = None,
    session: boto3.session.Session | None = None,
    region: str | None = None,
    timeout: float = 300.0,
    require_tag: str | None = None,
    role_arn: str | None = None,
) -> Result:
    """Attach an available ENI to `instance` and wait until it is attached.

    `device_index=None` picks the lowest free index on network card 0. An ENI still
    `detaching` is waited for, then attached.

    Raises:
        InvalidInput; NotFound; Conflict(``in-use``) when attached elsewhere;
        PreconditionFailed (``requester-managed``, ``vpc-mismatch``, ``az-mismatch``,
        ``instance-state``, ``attachment-limit``, ``device-index-in-use``, ``same-subnet``,
        ``tag-guard``); AwsError; OperationTimeout.
    """
    request = EniRequest(
        eni_id=_inputs.eni_id(eni),
        target=_inputs.instance_id(instance, "instance"),
        device_index=_inputs.device_index(device_index),
        allow_same_subnet=_inputs.flag(allow_same_subnet, "allow_same_subnet"),
    )
    keywords = common(
        mode=mode,
        ec2=ec2,
        session=session,
        region=region,
        timeout=timeout,
        require_tag=require_tag,
        role_arn=role_arn,
    )
    run = start("attach_eni", keywords)
    state = read(run, request, with_source=False)
    return execute(plan_attach(state, request, keywords.guard), run)


def detach_eni(
    eni: str,
    *,
    expect_current: str | None = None,
    force: bool = False,
    mode: Mode = "apply",
    ec2: EC2Client | None = None,
    session: boto3.session.Session | None = None,
    region: str | None = None,
    timeout: float = 300.0,
    require_tag: str | None = None,
    role_arn: str | None = None,
) -> Result:
    """Detach a secondary ENI (by its `AttachmentId`) and wait until it is available.

    Raises:
        InvalidInput; NotFound; Conflict(``expect-mismatch``); PreconditionFailed
        (``primary-eni``, ``requester-managed``, ``tag-guard``); AwsError; OperationTimeout.
    """
    request = EniRequest(
        eni_id=_inputs.eni_id(eni),
        expected=_inputs.expect_current(expect_current),
        force=_inputs.flag(force, "force"),
    )
    keywords = common(
        mode=mode,
        ec2=ec2,
        session=session,
        region=region,
        timeout=timeout,
        require_tag=require_tag,
        role_arn=role_arn,
    )
    run = start("detach_eni", keywords)
    state = read(run, request, with_source=False)
    return execute(plan_detach(state, request, keywords.guard), run)


def read(run: Run, request: EniRequest, *, with_source: bool) -> EniState:
    """The ENI and the target at once; the target type's limits (cached per client); the
    source instance only when a tag guard needs its tags."""
    reader = run.reader
    if request.target is None:
        eni = reader.eni(request.eni_id)
        run.mark_read()
        return EniState(eni)
    eni, target = reader.at_once(
        lambda: reader.eni(request.eni_id), lambda: reader.instance(str(request.target))
    )
    source_id = check.eni_holder(eni)
    source = None
    if with_source and source_id and source_id != target.instance_id:
        limits, source = reader.at_once(
            lambda: reader.limits(target.instance_type), lambda: reader.instance(source_id)
        )
    else:
        limits = reader.limits(target.instance_type)
    run.mark_read()
    return EniState(eni, target, limits, source)


# -- planners: pure -------------------------------------------------------------------------


def plan_move(state: EniState, request: EniRequest, guard: TagGuard | None) -> Plan:
    """The chain that moves the ENI to the target, or a refusal."""
    eni, target, limits = state.eni, state.target, state.limits
    assert target is not None
    assert limits is not None
    check.not_requester_managed(eni)
    before = {"eni": eni.summary()}
    if _settled_on(eni, target.instance_id) and eni.intent is None:
        return Plan("move_eni", (), before=before, after=before)
    check.not_primary(eni)
    arriving = eni.instance_id == target.instance_id and not eni.detaching
    if not arriving:  # already (or almost) there: a re-run finishes, whoever held it before
        check.expect_current(request.expected, eni.eni_id, [check.eni_holder(eni)])
    check.tag_guard(guard, eni.eni_id, eni.tags)
    for instance in (target, state.source):
        if instance is not None:
            check.tag_guard(guard, instance.instance_id, instance.tags)
    chain = move_chain(eni, target, limits, request)
    return Plan(
        "move_eni", (chain,), before=before, after=dict(chain.after), warnings=chain.warnings
    )


def plan_attach(state: EniState, request: EniRequest, guard: TagGuard | None) -> Plan:
    """The chain that attaches a free ENI (waiting out a detach first), or a refusal."""
    eni, target, limits = state.eni, state.target, state.limits
    assert target is not None
    assert limits is not None
    check.not_requester_managed(eni)
    before = {"eni": eni.summary()}
    if _settled_on(eni, target.instance_id):
        return Plan("attach_eni", (), before=before, after=before)
    if not eni.detaching:
        check.free_for(eni, target.instance_id)
    check.tag_guard(guard, eni.eni_id, eni.tags)
    check.tag_guard(guard, target.instance_id, target.tags)
    chain = move_chain(eni, target, limits, request, operation="attach_eni", intent=False)
    return Plan(
        "attach_eni", (chain,), before=before, after=dict(chain.after), warnings=chain.warnings
    )


def plan_detach(state: EniState, request: EniRequest, guard: TagGuard | None) -> Plan:
    """The detach by `AttachmentId` and the wait until available, or a refusal."""
    eni = state.eni
    before = {"eni": eni.summary()}
    att = eni.attachment
    if att is None:  # already detached: a re-run is a no-op, before the guard
        return Plan("detach_eni", (), before=before, after=before)
    check.expect_current(request.expected, eni.eni_id, [check.eni_holder(eni)])
    check.not_requester_managed(eni)
    check.not_primary(eni)
    check.tag_guard(guard, eni.eni_id, eni.tags)
    wait_for = EniDetached(eni.eni_id, attachment_id=att.attachment_id, source=att.instance_id)
    items: tuple[Change | Wait, ...]
    if eni.detaching:
        items = (Wait(wait_for),)
    else:
        params: dict[str, Any] = {"AttachmentId": att.attachment_id}
        if request.force:
            params["Force"] = True
        items = (Change("DetachNetworkInterface", params, expect=wait_for, final=True),)
    subject: Subject = ("eni", eni.eni_id)
    after = {"eni": _detached_view(eni)}
    chain = Chain(
        name=f"detach {eni.eni_id}",
        operation="detach_eni",
        items=items,
        subjects=(subject,),
        before=before,
        after=after,
        context={"eni": eni.eni_id, "source": att.instance_id},
        warnings=(FORCE_WARNING,) if request.force else (),
        holders=((subject, None),),
        shows={"eni": subject},
    )
    return Plan("detach_eni", (chain,), before=before, after=after, warnings=chain.warnings)


def _settled_on(eni: Eni, instance_id: str) -> bool:
    """Already there: attached, and `attached` (not merely naming the instance)."""
    return eni.attached_to == instance_id


def _detached_view(eni: Eni) -> dict[str, Any]:
    return {
        **eni.summary(),
        "instance": None,
        "attachment_id": None,
        "attachment_status": None,
        "device_index": None,
        "status": "available",
    }


def move_chain(
    eni: Eni,
    target: Instance,
    limits: Limits,
    request: EniRequest,
    *,
    operation: str = "move_eni",
    intent: bool = True,
    device_index: int | None = None,
) -> Chain:
    """The chain that brings `eni` onto `target`, from wherever it is now.

    Attached elsewhere: intent tag, detach, attach, `DeleteOnTermination`. Detaching (an
    interrupted move, or someone's detach): wait, then attach. Available: attach. Attaching
    to the target, or attached with an intent left over: finish what is missing. With
    `device_index`, the index was already chosen (a failover checks all its ENIs together).
    `intent=False` (attach_eni) writes no intent and carries no DeleteOnTermination over.
    """
    att = eni.attachment
    if att is not None and att.instance_id == target.instance_id and att.status != "detaching":
        return _finish_chain(eni, target, operation)
    check.same_vpc_and_az(eni, target)
    check.instance_state(target)
    index = device_index if device_index is not None else _index_on(eni, target, limits, request)
    check.no_same_subnet(eni, target, request.allow_same_subnet)
    source = check.eni_holder(eni)
    pending = eni.intent
    if pending is not None and att is None:
        dot = pending.delete_on_termination  # what the interrupted move recorded
    else:  # the ENI's own attachment says it, whatever an intent tag claims
        dot = intent and bool(att and att.delete_on_termination)
    items = _leave(eni, target, request, MoveIntent(source or "", target.instance_id, index, dot))
    if not intent:
        items = [item for item in items if not _is_intent(item)]
    items.append(
        Change(
            "AttachNetworkInterface",
            {
                "NetworkInterfaceId": eni.eni_id,
                "InstanceId": target.instance_id,
                "DeviceIndex": index,
                "NetworkCardIndex": 0,
            },
            expect=EniAttached(eni.eni_id, instance_id=target.instance_id, leaving=source),
            final=True,
        )
    )
    if dot:
        items.append(_restore_dot(eni.eni_id, Ref("attachment_id")))
    return _chain(
        eni,
        target,
        operation,
        tuple(items),
        source=source,
        index=index,
        force=request.force,
        rollback=request.rollback,
    )


def _index_on(eni: Eni, target: Instance, limits: Limits, request: EniRequest) -> int:
    """The device index on the target: the one asked for, else the one an interrupted move
    recorded (if still free), else the lowest free one."""
    requested = request.device_index
    pending = eni.intent
    if requested is None and pending is not None and pending.target == target.instance_id:
        recorded = check.recorded_index(pending, limits)  # a tag is a hint: checked first
        requested = recorded if recorded not in target.used_device_indexes(0) else None
    on_target = eni.instance_id == target.instance_id  # still detaching from it
    leaving = [eni.eni_id] if on_target else []
    return check.choose_device_index(target, limits, requested, leaving=leaving)


def _leave(
    eni: Eni, target: Instance, request: EniRequest, intent: MoveIntent
) -> list[Change | Wait]:
    """Getting the ENI off where it is: record the intent (unless recorded already), then
    detach it, or wait for a detach already running. Nothing when it is available."""
    att = eni.attachment
    if att is None:
        return []
    items: list[Change | Wait] = []
    pending = eni.intent
    if pending is None or (pending.target, pending.device_index) != (
        intent.target,
        intent.device_index,
    ):
        items.append(_intent_change(eni, intent))
    if att.status == "detaching":
        detached = EniDetached(
            eni.eni_id,
            attachment_id=att.attachment_id,
            source=att.instance_id,
            target=target.instance_id,
        )
        items.append(Wait(detached))
    else:
        items.append(
            _detach_change(eni, target.instance_id, request.force, intent.delete_on_termination)
        )
    return items


def _is_intent(item: Change | Wait) -> bool:
    return isinstance(item, Change) and item.action == "CreateTags"


def _finish_chain(eni: Eni, target: Instance, operation: str) -> Chain:
    """The ENI is on the target (attaching, or attached with an intent left over): wait for
    `attached`, restore `DeleteOnTermination` if the intent says so, clear the intent."""
    att = eni.attachment
    assert att is not None
    pending = eni.intent
    items: list[Change | Wait] = []
    if att.status != "attached":
        items.append(Wait(EniAttached(eni.eni_id, instance_id=target.instance_id)))
    # Only on the attachment the intent recorded, not on one an intent was written over.
    recorded = pending is not None and pending.delete_on_termination
    at = pending is not None and (pending.target, pending.device_index) == (
        att.instance_id,
        att.device_index,
    )
    if recorded and at and not att.delete_on_termination:
        items.append(_restore_dot(eni.eni_id, att.attachment_id))
    source = pending.source if pending is not None else None
    return _chain(eni, target, operation, tuple(items), source=source, index=att.device_index)


def _chain(
    eni: Eni,
    target: Instance,
    operation: str,
    items: tuple[Change | Wait, ...],
    *,
    source: str | None,
    index: int,
    force: bool = False,
    rollback: bool = True,
) -> Chain:
    subject: Subject = ("eni", eni.eni_id)
    warnings = [HOT_ATTACH_WARNING, BANDWIDTH_WARNING]
    if force:
        warnings.append(FORCE_WARNING)
    return Chain(
        name=f"move {eni.eni_id}",
        operation=operation,
        items=items,
        subjects=(subject,),
        before={"eni": eni.summary()},
        after={
            "eni": {
                **eni.summary(),
                "instance": target.instance_id,
                "device_index": index,
                "attachment_status": "attached",
                "status": "in-use",
            }
        },
        context={
            "eni": eni.eni_id,
            "source": source,
            "target": target.instance_id,
            "device_index": index,
        },
        warnings=tuple(warnings),
        holders=((subject, HolderTag(target.instance_id, device_index=index).format()),),
        # The intent is cleared where there is one (an interrupted move's, or this move's).
        clear_intent=eni.eni_id if eni.intent is not None or any(map(_is_intent, items)) else None,
        shows={"eni": subject},
        rollback=rollback,
    )


def _intent_change(eni: Eni, intent: MoveIntent) -> Change:
    """The `eniops:move` tag, written before the detach; put back by deleting our value only
    (a concurrent run's intent, written over ours, stays)."""
    value = intent.format()
    return Change(
        "CreateTags",
        {"Resources": [eni.eni_id], "Tags": [{"Key": MOVE_TAG, "Value": value}]},
        expect=Tagged(eni.eni_id, key=MOVE_TAG, value=value),
        verify=False,
        bookkeeping=True,
        undo=(
            Change(
                "DeleteTags",
                {"Resources": [eni.eni_id], "Tags": [{"Key": MOVE_TAG, "Value": value}]},
                bookkeeping=True,
                note="the move did not happen: its intent is removed",
            ),
        ),
        note="the intent: a re-run completes the move from here",
    )


def _detach_change(eni: Eni, target: str, force: bool, dot: bool) -> Change:
    att = eni.attachment
    assert att is not None
    params: dict[str, Any] = {"AttachmentId": att.attachment_id}
    if force:
        params["Force"] = True
    back: list[Change] = [
        Change(
            "AttachNetworkInterface",
            {
                "NetworkInterfaceId": eni.eni_id,
                "InstanceId": att.instance_id,
                "DeviceIndex": att.device_index,
                "NetworkCardIndex": att.network_card_index,
            },
            expect=EniAttached(eni.eni_id, instance_id=att.instance_id),
            note=f"put back on {att.instance_id} at device index {att.device_index}",
        )
    ]
    if dot:
        back.append(_restore_dot(eni.eni_id, Ref("attachment_id")))
    return Change(
        "DetachNetworkInterface",
        params,
        expect=EniDetached(
            eni.eni_id, attachment_id=att.attachment_id, source=att.instance_id, target=target
        ),
        undo=tuple(back),
    )


def _restore_dot(eni_id: str, attachment_id: str | Ref) -> Change:
    return Change(
        "ModifyNetworkInterfaceAttribute",
        {
            "NetworkInterfaceId": eni_id,
            "Attachment": {"AttachmentId": attachment_id, "DeleteOnTermination": True},
        },
        expect=DeletesOnTermination(eni_id),
        note="restore DeleteOnTermination from the source attachment",
    )
