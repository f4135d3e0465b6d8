"""eniops' own tags as ordinary changes of a plan: the `eniops:move` intent written before a
detach, its removal once the move is done, and the `eniops:holder` tag that rides beside
the check of every change that moves something."""

from __future__ import annotations

from .._plan import Change, Params
from .._plan._expect import Tagged
from .._state._tags import HOLDER_TAG, MOVE_TAG, IpMoveIntent, MoveIntent


def holder(resource_id: str, value: str | None, previous: str | None) -> Change:
    """Tag `resource_id` with where it now is (`value`; None removes the tag). Its undo puts
    back what the tag said before."""
    return Change(
        *_holder_call(resource_id, value),
        check="settle",
        role="bookkeeping",
        undo=(Change(*_holder_call(resource_id, previous), check="settle", role="bookkeeping"),),
        note="where it is now",
    )


def _holder_call(resource_id: str, value: str | None) -> tuple[str, Params]:
    if value is None:
        return "DeleteTags", {"Resources": [resource_id], "Tags": [{"Key": HOLDER_TAG}]}
    return "CreateTags", {
        "Resources": [resource_id],
        "Tags": [{"Key": HOLDER_TAG, "Value": value}],
    }


def intent(eni_id: str, move: MoveIntent | IpMoveIntent) -> Change:
    """The intent tag (`eniops:move` before a detach, `eniops:ip-move` before an IPv6
    unassign); put back by deleting our value only (a concurrent run's intent, written over
    ours, stays)."""
    value = move.format()
    tag = {"Key": move.key, "Value": value}
    return Change(
        "CreateTags",
        {"Resources": [eni_id], "Tags": [tag]},
        expect=(Tagged(eni_id, key=move.key, value=value),),
        check="settle",
        role="bookkeeping",
        undo=(
            Change(
                "DeleteTags",
                {"Resources": [eni_id], "Tags": [tag]},
                check="settle",
                role="bookkeeping",
                note="the move did not happen: its intent is removed",
            ),
        ),
        note="the intent: a re-run completes the move from here",
    )


def intent_removal(eni_id: str, key: str = MOVE_TAG) -> Change:
    """The move is done: its intent (whatever its value) goes."""
    return Change(
        "DeleteTags",
        {"Resources": [eni_id], "Tags": [{"Key": key}]},
        check="settle",
        role="bookkeeping",
        note="the move is done: its intent is removed",
    )


def holder_removal(resource_id: str, previous: str) -> Change:
    """The `eniops:holder` tag removed only while it still says `previous` (EC2 deletes a tag
    named with its value only if the value matches): a holder tag written meanwhile by
    whoever took the resource stays. Its undo writes `previous` back."""
    tag = {"Key": HOLDER_TAG, "Value": previous}
    return Change(
        "DeleteTags",
        {"Resources": [resource_id], "Tags": [tag]},
        check="settle",
        role="bookkeeping",
        undo=(Change(*_holder_call(resource_id, previous), check="settle", role="bookkeeping"),),
        note="released: nothing holds it",
    )
