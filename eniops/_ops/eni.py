"""`move_eni`, `attach_eni`, `detach_eni`: move interfaces without stranding them.

A move writes its intent (`eniops:move`) on the ENI before the detach, detaches by
`AttachmentId` (a stale attachment cannot be detached by mistake), waits until the ENI is
available, attaches, waits until it is attached (its `eniops:holder` tag riding beside),
restores `DeleteOnTermination`, and removes the intent beside the last check. An ENI that
is `detaching` or `available` with an intent counts as held by the instance it moves from,
so re-running an interrupted move completes it at the recorded device index. A failed
attach puts the ENI back on its source, or the error says exactly where it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .._core import _inputs
from .._core._errors import Conflict, PreconditionFailed
from .._core._inputs import TagGuard
from .._core._json import JsonDict
from .._core._result import Result
from .._core._threads import at_once
from .._executor import Run
from .._plan import Chain, Change, Param, Plan, Wait
from .._plan._expect import EniDetached
from .._state import _rules as check
from .._state._model import Eni, Instance, Limits
from .._state._views import Planned, Subject
from . import _bookkeeping
from ._moving import FORCE_WARNING, Placement, move_chain
from ._operation import Body, Common, check_rules, run

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .._core._keywords import CommonKeywords


@dataclass(frozen=True)
class MoveRequest:
    """`move_eni`'s arguments, parsed."""

    eni_id: str
    target: str
    expected: str | None
    placement: Placement
    guard: TagGuard | None = None

    @classmethod
    def of(
        cls,
        *,
        eni: object,
        to_instance: object,
        device_index: object,
        expect_current: object,
        force_detach: object,
        allow_same_subnet: object,
        rollback: object,
        guard: TagGuard | None,
    ) -> MoveRequest:
        """`move_eni`'s own arguments, checked against its rules and parsed."""
        check_rules("move_eni", to_instance=to_instance)
        return cls(
            eni_id=_inputs.eni_id(eni),
            target=_inputs.instance_id(to_instance, "to_instance"),
            expected=_inputs.expect_current(expect_current),
            placement=Placement.of(
                device_index=device_index,
                allow_same_subnet=allow_same_subnet,
                force_detach=force_detach,
                rollback=rollback,
            ),
            guard=guard,
        )


@dataclass(frozen=True)
class AttachRequest:
    """`attach_eni`'s arguments, parsed."""

    eni_id: str
    target: str
    placement: Placement
    guard: TagGuard | None = None

    @classmethod
    def of(
        cls,
        *,
        eni: object,
        instance: object,
        device_index: object,
        allow_same_subnet: object,
        guard: TagGuard | None,
    ) -> AttachRequest:
        """`attach_eni`'s own arguments, checked against its rules and parsed."""
        check_rules("attach_eni", instance=instance)
        return cls(
            eni_id=_inputs.eni_id(eni),
            target=_inputs.instance_id(instance, "instance"),
            placement=Placement.of(device_index=device_index, allow_same_subnet=allow_same_subnet),
            guard=guard,
        )


@dataclass(frozen=True)
class DetachRequest:
    """`detach_eni`'s arguments, parsed."""

    eni_id: str
    expected: str | None
    force: bool
    guard: TagGuard | None = None

    @classmethod
    def of(
        cls, *, eni: object, expect_current: object, force: object, guard: TagGuard | None
    ) -> DetachRequest:
        """`detach_eni`'s own arguments, parsed (it has no rule between them)."""
        return cls(
            eni_id=_inputs.eni_id(eni),
            expected=_inputs.expect_current(expect_current),
            force=_inputs.flag(force, "force"),
            guard=guard,
        )


@dataclass(frozen=True)
class PlaceState:
    """The ENI and the target instance with its type's limits; for a move under a tag guard,
    the instance it leaves (whose tags the guard reads)."""

    eni: Eni
    target: Instance
    limits: Limits
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
    **common: Unpack[CommonKeywords],
) -> Result:
    """Move an ENI (with its MAC, IPs, security groups and Elastic IPs) to `to_instance`.

    Tag the intent, detach by `AttachmentId`, wait until available, attach, wait until
    attached, restore `DeleteOnTermination` if the source attachment had it, clear the
    intent. If the attach fails, the ENI goes back to the source at its old device index
    (unless `rollback=False`). Re-running an interrupted move completes it.

    Args:
        eni: the ENI id (``eni-…``).
        to_instance: the instance to move it to (same VPC and availability zone).
        device_index: on network card 0; None picks the lowest free one.
        expect_current: the instance or ENI that must hold it now.
        force_detach: force the detach (for a failed source instance only).
        allow_same_subnet: allow a second ENI of a subnet the target is already in.
        rollback: put the ENI back on its source when the attach fails.
        **common: the common keywords (`eniops.CommonKeywords`): mode, ec2, session,
            region, timeout (default 300 s), require_tag, role_arn, external_id.

    Raises:
        InvalidInput; NotFound; Conflict (``expect-mismatch``); PreconditionFailed
        (``primary-eni``, ``requester-managed``, ``vpc-mismatch``, ``az-mismatch``,
        ``instance-state``, ``attachment-limit``, ``device-index-in-use``, ``same-subnet``,
        ``tag-guard``); AwsError; OperationTimeout (details say where the ENI is);
        PartialFailure (``rolled_back`` says whether the ENI went back to the source).
    """
    keywords = Common.of("move_eni", common, timeout_s=MOVE.timeout_s)
    request = MoveRequest.of(
        eni=eni,
        to_instance=to_instance,
        device_index=device_index,
        expect_current=expect_current,
        force_detach=force_detach,
        allow_same_subnet=allow_same_subnet,
        rollback=rollback,
        guard=keywords.guard,
    )
    return run(MOVE, request, keywords)


def attach_eni(
    eni: str,
    *,
    instance: str,
    device_index: int | None = None,
    allow_same_subnet: bool = False,
    **common: Unpack[CommonKeywords],
) -> Result:
    """Attach an available ENI to `instance` and wait until it is attached.

    An ENI still `detaching` is waited for, then attached.

    Args:
        eni: the ENI id (``eni-…``).
        instance: the instance to attach it to.
        device_index: on network card 0; None picks the lowest free one.
        allow_same_subnet: allow a second ENI of a subnet the instance is already in.
        **common: the common keywords (`eniops.CommonKeywords`): mode, ec2, session,
            region, timeout (default 300 s), require_tag, role_arn, external_id.

    Raises:
        InvalidInput; NotFound; Conflict(``in-use``) when attached elsewhere;
        PreconditionFailed (``requester-managed``, ``vpc-mismatch``, ``az-mismatch``,
        ``instance-state``, ``attachment-limit``, ``device-index-in-use``, ``same-subnet``,
        ``tag-guard``); AwsError; OperationTimeout.
    """
    keywords = Common.of("attach_eni", common, timeout_s=ATTACH.timeout_s)
    request = AttachRequest.of(
        eni=eni,
        instance=instance,
        device_index=device_index,
        allow_same_subnet=allow_same_subnet,
        guard=keywords.guard,
    )
    return run(ATTACH, request, keywords)


def detach_eni(
    eni: str,
    *,
    expect_current: str | None = None,
    force: bool = False,
    **common: Unpack[CommonKeywords],
) -> Result:
    """Detach a secondary ENI (by its `AttachmentId`) and wait until it is available.

    Args:
        eni: the ENI id (``eni-…``).
        expect_current: the instance or ENI that must hold it now.
        force: force the detach (for a failed instance only).
        **common: the common keywords (`eniops.CommonKeywords`): mode, ec2, session,
            region, timeout (default 300 s), require_tag, role_arn, external_id.

    Raises:
        InvalidInput; NotFound; Conflict(``expect-mismatch``); PreconditionFailed
        (``primary-eni``, ``requester-managed``, ``tag-guard``); AwsError; OperationTimeout.
    """
    keywords = Common.of("detach_eni", common, timeout_s=DETACH.timeout_s)
    request = DetachRequest.of(
        eni=eni, expect_current=expect_current, force=force, guard=keywords.guard
    )
    return run(DETACH, request, keywords)


def _read_place(run: Run, eni_id: str, target_id: str, *, source_too: bool) -> PlaceState:
    """The ENI and the target at once; the target type's limits (cached per client); the
    source instance only when a tag guard needs its tags."""
    reader = run.reader
    eni, target = at_once(lambda: reader.eni(eni_id), lambda: reader.instance(target_id))
    source_id = check.eni_holder(eni)
    source = None
    if source_too and source_id and source_id != target.instance_id:
        limits, source = at_once(
            lambda: reader.limits(target.instance_type), lambda: reader.instance(source_id)
        )
    else:
        limits = reader.limits(target.instance_type)
    run.mark_read()
    return PlaceState(eni, target, limits, source)


def read_move(run: Run, request: MoveRequest) -> PlaceState:
    """What `move_eni` reads (see `_read_place`)."""
    return _read_place(run, request.eni_id, request.target, source_too=request.guard is not None)


def read_attach(run: Run, request: AttachRequest) -> PlaceState:
    """What `attach_eni` reads (see `_read_place`)."""
    return _read_place(run, request.eni_id, request.target, source_too=False)


def read_detach(run: Run, request: DetachRequest) -> Eni:
    """The ENI."""
    eni = run.reader.eni(request.eni_id)
    run.mark_read()
    return eni


# -- planners: pure -------------------------------------------------------------------------


def plan_move_eni(request: MoveRequest, state: PlaceState) -> Plan:
    """The chain that moves the ENI to the target, or a refusal."""
    eni, target = state.eni, state.target
    check.not_requester_managed(eni)
    before = {"eni": eni.summary()}
    if settled_on(eni, target.instance_id) and eni.intent is None:
        return Plan("move_eni", (), before=before, after=before)
    not_primary(eni)
    if not arriving(eni, target.instance_id):  # almost there: a re-run finishes it
        check.expect_current(request.expected, eni.eni_id, [check.eni_holder(eni)])
    check.tag_guard(request.guard, eni.eni_id, eni.tags)
    for instance in (target, state.source):
        if instance is not None:
            check.tag_guard(request.guard, instance.instance_id, instance.tags)
    chain = move_chain(eni, target, state.limits, request.placement)
    return Plan(
        "move_eni", (chain,), before=before, after=dict(chain.after), warnings=chain.warnings
    )


def plan_attach_eni(request: AttachRequest, state: PlaceState) -> Plan:
    """The chain that attaches a free ENI (waiting out a detach first), or a refusal."""
    eni, target = state.eni, state.target
    check.not_requester_managed(eni)
    before = {"eni": eni.summary()}
    if settled_on(eni, target.instance_id):
        return Plan("attach_eni", (), before=before, after=before)
    if not eni.detaching:
        free_for(eni, target.instance_id)
    check.tag_guard(request.guard, eni.eni_id, eni.tags)
    check.tag_guard(request.guard, target.instance_id, target.tags)
    chain = move_chain(
        eni, target, state.limits, request.placement, operation="attach_eni", intent=False
    )
    return Plan(
        "attach_eni", (chain,), before=before, after=dict(chain.after), warnings=chain.warnings
    )


def plan_detach_eni(request: DetachRequest, eni: Eni) -> Plan:
    """The detach by `AttachmentId` and the wait until available, or a refusal."""
    before = {"eni": eni.summary()}
    att = eni.attachment
    if att is None:  # already detached: a re-run is a no-op, before the guard
        return Plan("detach_eni", (), before=before, after=before)
    check.expect_current(request.expected, eni.eni_id, [check.eni_holder(eni)])
    check.not_requester_managed(eni)
    not_primary(eni)
    check.tag_guard(request.guard, eni.eni_id, eni.tags)
    gone = EniDetached(eni.eni_id, attachment_id=att.attachment_id, source=att.instance_id)
    riders = (_bookkeeping.holder(eni.eni_id, None, eni.holder_tag),)
    item: Change | Wait
    if eni.detaching:
        item = Wait(gone, riders=riders)
    else:
        params: dict[str, Param] = {"AttachmentId": att.attachment_id}
        if request.force:
            params["Force"] = True
        item = Change("DetachNetworkInterface", params, expect=(gone,), role="goal", riders=riders)
    subject: Subject = ("eni", eni.eni_id)
    after = {"eni": Planned(subject, _detached_view(eni))}
    chain = Chain(
        name=f"detach {eni.eni_id}",
        operation="detach_eni",
        items=(item,),
        subjects=(subject,),
        before=before,
        after=after,
        context={"eni": eni.eni_id, "source": att.instance_id},
        warnings=(FORCE_WARNING,) if request.force else (),
    )
    return Plan("detach_eni", (chain,), before=before, after=after, warnings=chain.warnings)


def _detached_view(eni: Eni) -> JsonDict:
    return {
        **eni.summary(),
        "instance": None,
        "attachment_id": None,
        "attachment_status": None,
        "device_index": None,
        "status": "available",
    }


MOVE = Body("move_eni", read_move, plan_move_eni, 300.0)
ATTACH = Body("attach_eni", read_attach, plan_attach_eni, 300.0)
DETACH = Body("detach_eni", read_detach, plan_detach_eni, 300.0)


# -- its rules: pure functions of described state ----------------------------------------


def not_primary(eni: Eni) -> None:
    """The device-index-0 interface cannot be detached or moved."""
    if eni.attachment and eni.attachment.is_primary:
        raise PreconditionFailed(
            "primary-eni",
            f"{eni.eni_id} is the primary interface of {eni.attachment.instance_id}",
            details={"eni": eni.eni_id, "instance": eni.attachment.instance_id},
        )


def free_for(eni: Eni, instance_id: str) -> None:
    """Attach: the ENI must not be attached to another instance."""
    if eni.attachment and eni.attachment.instance_id != instance_id:
        raise Conflict(
            "in-use",
            f"{eni.eni_id} is attached to {eni.attachment.instance_id}; use move_eni",
            details={"eni": eni.eni_id, "instance": eni.attachment.instance_id},
        )


def settled_on(eni: Eni, instance_id: str) -> bool:
    """Already there: attached to `instance_id`, and `attached` (not merely naming it)."""
    return eni.attached_to == instance_id


def arriving(eni: Eni, instance_id: str) -> bool:
    """On `instance_id` already: attaching, or attached with an intent left over."""
    return eni.instance_id == instance_id and not eni.detaching
