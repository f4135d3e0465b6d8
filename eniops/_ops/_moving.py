"""The chain that brings an ENI onto an instance, from wherever it is now: the one path of
`move_eni`, `attach_eni` and every ENI a failover moves. Pure: it builds plans.

Attached elsewhere: the intent (`eniops:move`) is written, then the ENI detached by
`AttachmentId`, attached (its `eniops:holder` tag riding beside the check), its
`DeleteOnTermination` restored, and the intent removed beside the last check. Detaching:
waited for, then attached. On the target already: what is missing is finished.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from .._core import _inputs
from .._plan import Chain, Change, Param, Ref, Wait
from .._plan._expect import DeletesOnTermination, EniAttached, EniDetached
from .._state import _rules as check
from .._state._model import Attachment, Eni, Instance, Limits
from .._state._tags import MOVE_TAG, HolderTag, MoveIntent
from .._state._views import Planned, Subject
from . import _bookkeeping
from . import _placing as placing

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
class Placement:
    """How an ENI goes onto an instance: where, and what the caller allowed."""

    device_index: int | None = None
    allow_same_subnet: bool = False
    force: bool = False
    rollback: bool = True
    #: `device_index` was chosen by eniops (a failover's, for all its ENIs together), not
    #: asked for: another free one will do if EC2 finds it taken.
    chosen: bool = False
    #: Device indexes that other ENIs of the same plan take on the target.
    avoid: frozenset[int] = frozenset()

    @classmethod
    def of(
        cls,
        *,
        device_index: object,
        allow_same_subnet: object,
        force_detach: object = False,
        rollback: object = True,
    ) -> Placement:
        """Parse the placement arguments an operation takes (`force_detach` and `rollback`
        are `move_eni`'s only: the defaults otherwise)."""
        return cls(
            device_index=_inputs.device_index(device_index),
            allow_same_subnet=_inputs.flag(allow_same_subnet, "allow_same_subnet"),
            force=_inputs.flag(force_detach, "force_detach"),
            rollback=_inputs.flag(rollback, "rollback"),
        )


def move_chain(
    eni: Eni,
    target: Instance,
    limits: Limits,
    placement: Placement,
    *,
    operation: str = "move_eni",
    intent: bool = True,
    trust_intent: bool = True,
) -> Chain:
    """The chain that brings `eni` onto `target`, from wherever it is now.

    Attached elsewhere: intent tag, detach, attach, `DeleteOnTermination`. Detaching (an
    interrupted move, or someone's detach): wait, then attach. Available: attach. Attaching
    to the target, or attached with an intent left over: finish what is missing. A given
    `placement.device_index` was chosen already (a failover checks all its ENIs together).
    `intent=False` (attach_eni) writes no intent and carries no DeleteOnTermination over.
    `trust_intent=False` (an ENI a failover found by its intent alone): the DeleteOnTermination
    the intent records is not set (a tag alone never has EC2 delete an ENI), with a warning.
    """
    att = eni.attachment
    if att is not None and att.instance_id == target.instance_id and att.status != "detaching":
        return _finish_chain(eni, att, target, operation, trust_intent)
    placing.same_vpc_and_az(eni, target)
    check.instance_state(target)
    index = _index_on(eni, target, limits, placement.device_index)
    placing.no_same_subnet(eni, target, placement.allow_same_subnet)
    source = check.eni_holder(eni)
    dot = placing.next_delete_on_termination(eni, carry=intent, trust_intent=trust_intent)
    move = MoveIntent(source or "", target.instance_id, index, dot)
    items: list[Change | Wait] = _leave(eni, target, placement, move, intent=intent)
    written = any(isinstance(i, Change) and i.action == "CreateTags" for i in items)
    clear = (_bookkeeping.intent_removal(eni.eni_id),) if eni.intent or written else ()
    after = () if dot else clear  # the intent goes beside the last check of the move
    items.append(
        _attach_at(eni, target, limits, index, source=source, placement=placement, after=after)
    )
    if dot:
        items.append(_restore_dot(eni.eni_id, Ref("attachment_id"), riders=clear))
    untrusted = not trust_intent and att is None and placing.dot_only_by_tag(eni.intent, None)
    return _chain(
        eni,
        target,
        operation,
        tuple(items),
        source=source,
        index=index,
        how=placement,
        notes=(_dot_left_off(eni, target),) if untrusted else (),
    )


def _dot_left_off(eni: Eni, target: Instance) -> str:
    return (
        f"{eni.eni_id}: DeleteOnTermination left off: only its {MOVE_TAG} tag says it was set "
        f"(dot=true), and a tag alone never has EC2 delete an interface with {target.instance_id}"
        f". If it should be: aws ec2 modify-network-interface-attribute --network-interface-id "
        f"{eni.eni_id} --attachment AttachmentId=<its attachment id>,DeleteOnTermination=true"
    )


def _holder(eni: Eni, target: Instance, index: int) -> Change:
    """The `eniops:holder` tag of the ENI once attached to `target` at `index`."""
    placed = HolderTag(target.instance_id, device_index=index).format()
    return _bookkeeping.holder(eni.eni_id, placed, eni.holder_tag)


def _attach_at(
    eni: Eni,
    target: Instance,
    limits: Limits,
    index: int,
    *,
    source: str | None,
    placement: Placement,
    after: tuple[Change, ...],
) -> Change:
    """The attach at `index`, with its holder tag and `after` beside its check; where eniops
    chose the index (none was asked for), the same attach at each other free index too, for
    when EC2 finds `index` taken by an attach that landed since the read."""
    attach = _attach(eni, target, index, source, riders=(_holder(eni, target, index), *after))
    if placement.device_index is not None and not placement.chosen:
        return attach  # the index asked for, or a refusal
    free = placing.free_device_indexes(target, limits)
    others = [i for i in free if i not in placement.avoid and i != index]
    elsewhere = (
        _attach(eni, target, i, source, riders=(_holder(eni, target, i), *after)) for i in others
    )
    return dataclasses.replace(attach, elsewhere=tuple(elsewhere))


def _attach(
    eni: Eni, target: Instance, index: int, source: str | None, riders: tuple[Change, ...]
) -> Change:
    """The attach that is the move's goal, its bookkeeping riding beside its check."""
    return Change(
        "AttachNetworkInterface",
        {
            "NetworkInterfaceId": eni.eni_id,
            "InstanceId": target.instance_id,
            "DeviceIndex": index,
            "NetworkCardIndex": 0,
        },
        expect=(EniAttached(eni.eni_id, instance_id=target.instance_id, leaving=source),),
        role="goal",
        riders=riders,
    )


def _index_on(eni: Eni, target: Instance, limits: Limits, requested: int | None) -> int:
    """The device index on the target: the one asked for, else the one an interrupted move
    recorded (if the type has it and it is free), else the lowest free one."""
    pending = eni.intent
    if requested is None and pending is not None and pending.target == target.instance_id:
        recorded = placing.recorded_index(pending, limits)  # a tag is a hint: checked first
        requested = recorded if recorded not in target.used_device_indexes(0) else None
    on_target = eni.instance_id == target.instance_id  # still detaching from it
    leaving = [eni.eni_id] if on_target else []
    return placing.choose_device_index(target, limits, requested, leaving=leaving)


def _leave(
    eni: Eni, target: Instance, placement: Placement, move: MoveIntent, *, intent: bool
) -> list[Change | Wait]:
    """Getting the ENI off where it is: record the intent (unless this very intent is
    recorded already: an intent naming another source, index or DeleteOnTermination, a
    stranger's or a stale one, is written over before the detach, or a re-run would follow
    it), then detach it, or wait for a detach already running. Nothing when it is
    available."""
    att = eni.attachment
    if att is None:
        return []
    items: list[Change | Wait] = []
    if intent and eni.intent != move:
        items.append(_bookkeeping.intent(eni.eni_id, move))
    if att.status == "detaching":
        items.append(
            Wait(
                EniDetached(
                    eni.eni_id,
                    attachment_id=att.attachment_id,
                    source=att.instance_id,
                    target=target.instance_id,
                )
            )
        )
    else:
        items.append(
            _detach(eni, att, target.instance_id, placement.force, move.delete_on_termination)
        )
    return items


def _finish_chain(
    eni: Eni, att: Attachment, target: Instance, operation: str, trust_intent: bool
) -> Chain:
    """The ENI is on the target (attaching, or attached with an intent left over): wait for
    `attached`, restore `DeleteOnTermination` where a trusted intent recorded it for this very
    attachment, clear the intent and tag where it is, beside the last check."""
    pending = eni.intent
    holder = _holder(eni, target, att.device_index)
    # eniops' own move, finished: its tags. Someone else's attach is only waited for.
    riders = (holder, _bookkeeping.intent_removal(eni.eni_id)) if pending else ()
    attached = EniAttached(eni.eni_id, instance_id=target.instance_id)
    items: list[Change | Wait] = []
    if placing.restores_dot(pending, att, trust_intent=trust_intent):
        if att.status != "attached":
            items.append(Wait(attached))
        items.append(_restore_dot(eni.eni_id, att.attachment_id, riders=riders))
    else:
        items.append(Wait(attached, riders=riders))
    source = pending.source if pending is not None else None
    untrusted = not trust_intent and placing.dot_only_by_tag(pending, att)
    notes = (_dot_left_off(eni, target),) if untrusted else ()
    return _chain(
        eni, target, operation, tuple(items), source=source, index=att.device_index, notes=notes
    )


def _chain(
    eni: Eni,
    target: Instance,
    operation: str,
    items: tuple[Change | Wait, ...],
    *,
    source: str | None,
    index: int,
    how: Placement = Placement(),
    notes: tuple[str, ...] = (),
) -> Chain:
    subject: Subject = ("eni", eni.eni_id)
    warnings = [*notes, HOT_ATTACH_WARNING, BANDWIDTH_WARNING]
    if how.force:
        warnings.append(FORCE_WARNING)
    planned = {
        **eni.summary(),
        "instance": target.instance_id,
        "device_index": index,
        "attachment_status": "attached",
        "status": "in-use",
    }
    return Chain(
        name=f"move {eni.eni_id}",
        operation=operation,
        items=items,
        subjects=(subject,),
        before={"eni": eni.summary()},
        after={"eni": Planned(subject, planned)},
        context={
            "eni": eni.eni_id,
            "source": source,
            "target": target.instance_id,
            "device_index": index,
        },
        warnings=tuple(warnings),
        rollback=how.rollback,
    )


def _detach(eni: Eni, att: Attachment, target: str, force: bool, dot: bool) -> Change:
    params: dict[str, Param] = {"AttachmentId": att.attachment_id}
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
            expect=(EniAttached(eni.eni_id, instance_id=att.instance_id),),
            note=f"put back on {att.instance_id} at device index {att.device_index}",
        )
    ]
    if dot:
        back.append(_restore_dot(eni.eni_id, Ref("attachment_id")))
    return Change(
        "DetachNetworkInterface",
        params,
        expect=(
            EniDetached(
                eni.eni_id, attachment_id=att.attachment_id, source=att.instance_id, target=target
            ),
        ),
        undo=tuple(back),
    )


def _restore_dot(eni_id: str, attachment_id: str | Ref, riders: tuple[Change, ...] = ()) -> Change:
    return Change(
        "ModifyNetworkInterfaceAttribute",
        {
            "NetworkInterfaceId": eni_id,
            "Attachment": {"AttachmentId": attachment_id, "DeleteOnTermination": True},
        },
        expect=(DeletesOnTermination(eni_id),),
        riders=riders,
        note="restore DeleteOnTermination from the source attachment",
    )
