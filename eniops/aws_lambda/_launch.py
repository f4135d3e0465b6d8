"""An Auto Scaling launch lifecycle action: the group's ENIs and Elastic IP go to the new
instance ("a sticky ENI or Elastic IP for a group of one"), then the action is completed.

The group's tags name them: `eniops:enis` and `eniops:eips` (ids separated by spaces): a
hint, checked against what EC2 shows. Each is taken only from nobody (an ENI `available`, an
address unassociated) or from a member of the same group that is leaving it (not running or
pending; EC2's own `aws:autoscaling:groupName` tag says whose member, and nobody can write an
`aws:` tag); one held by anyone else, a stopped instance of another group included, abandons
the launch before any change, with why.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from .._core import _inputs
from .._core._errors import EniopsError, InvalidInput
from .._core._inputs import UNASSOCIATED
from .._core._json import JsonDict
from .._core._threads import at_once
from .._ops.eni import attach_eni, move_eni
from .._ops.remap import remap_eip
from .._state._model import Instance
from .._state._reads import Reader
from ._act import Call, complete
from ._events import Trigger

ENIS_TAG = "eniops:enis"
EIPS_TAG = "eniops:eips"
#: The tag Auto Scaling gives its members (a reserved `aws:` key: only AWS writes it).
GROUP_TAG = "aws:autoscaling:groupName"
#: States of a member that is not leaving its group.
STAYING_STATES = frozenset({"pending", "running"})


class _Abandon(Exception):
    """The launch cannot have what its group names: abandoned, with why."""


@dataclass
class _Moves:
    """What goes to the new instance, and from whom (None: nobody holds it)."""

    enis: list[tuple[str, str | None]] = field(default_factory=list)
    eips: list[tuple[str, str | None]] = field(default_factory=list)
    there: list[str] = field(default_factory=list)


def launch(call: Call, trigger: Trigger) -> JsonDict:
    """Attach the group's ENIs and Elastic IP to the new instance, then `CONTINUE`; or
    `ABANDON` with the reason (logged at ERROR and counted)."""
    lifecycle = trigger.lifecycle
    assert lifecycle is not None
    instance = lifecycle.instance
    try:
        enis, eips = _named(call, lifecycle.group)
        moves = _plan(call, instance, lifecycle.group, enis, eips)
        done = _move(call, instance, moves)
    except (_Abandon, EniopsError) as why:
        reason = why.message if isinstance(why, EniopsError) else str(why)
        complete(call, trigger, "ABANDON", reason)
        call.invocation.metric("FailoverRefused", instance)
        call.invocation.raise_level(logging.ERROR)
        call.invocation.add(outcome="abandoned", error=reason[:500])
        return {"ok": False, "error": {"type": "Abandoned", "reason": None, "message": reason}}
    complete(call, trigger, "CONTINUE")
    call.invocation.add(moved=done, outcome="changed" if done else "unchanged")
    return {"ok": True, "instance": instance, "attached": done, "already": moves.there}


def _named(call: Call, group: str) -> tuple[list[str], list[str]]:
    """The group's `eniops:enis` and `eniops:eips`, checked."""
    found = call.gateway("autoscaling", "reading the group's tags").call(
        "DescribeTags", {"Filters": [{"Name": "auto-scaling-group", "Values": [group]}]}
    )
    tags = {t.get("Key"): str(t.get("Value", "")) for t in found.get("Tags") or []}
    try:
        enis = [_inputs.eni_id(e, ENIS_TAG) for e in tags.get(ENIS_TAG, "").split()]
        eips = [str(_inputs.eip(e, EIPS_TAG)) for e in tags.get(EIPS_TAG, "").split()]
    except InvalidInput as err:
        raise _Abandon(f"group {group}: {err.message}") from err
    if len(eips) > 1:
        raise _Abandon(f"group {group}: {EIPS_TAG} names {len(eips)}; an instance takes one")
    return enis, eips


def _plan(call: Call, instance: str, group: str, enis: list[str], eips: list[str]) -> _Moves:
    """Who holds each now; any held by an instance that is not a member of `group` leaving
    it abandons the launch."""

    reader = Reader(call.gateway("ec2", "reading the group's resources"))
    found_enis, addresses = at_once(
        lambda: reader.enis(enis) if enis else {},
        lambda: [reader.address(_inputs.eip(e)) for e in eips],
    )
    holders: dict[str, str | None] = {e: found_enis[e].instance_id for e in enis}
    holders.update({a.allocation_id: a.instance_id for a in addresses})
    others = sorted({h for h in holders.values() if h and h != instance})
    found = reader.instances(others) if others else {}
    moves = _Moves()
    for resource, holder in holders.items():
        if holder == instance:
            moves.there.append(resource)
        elif holder is not None:
            why = _not_leaving(found[holder], group)
            if why:
                raise _Abandon(f"{resource} is on {holder}, which {why}: not taken from it")
        if holder != instance:
            kind = moves.enis if resource.startswith("eni-") else moves.eips
            kind.append((resource, holder))
    return moves


def _not_leaving(holder: Instance, group: str) -> str:
    """Why `holder` is not a member of `group` leaving it ("" when it is)."""
    if holder.tags.get(GROUP_TAG) != group:
        return f"is not a member of group {group}"
    if holder.state in STAYING_STATES:
        return f"is {holder.state}"
    return ""


def _move(call: Call, instance: str, moves: _Moves) -> list[str]:
    """Each ENI (one after the other: device indexes), then the Elastic IP."""

    done: list[str] = []
    for eni, holder in moves.enis:
        if holder is None:
            attach_eni(eni, instance=instance, **call.common(f"attaching {eni}"))
        else:
            move_eni(eni, to_instance=instance, expect_current=holder, **call.common(eni))
        done.append(eni)
    for eip, holder in moves.eips:
        remap_eip(
            eip,
            to_instance=instance,
            expect_current=holder or UNASSOCIATED,
            **call.common(f"remapping {eip}"),
        )
        done.append(eip)
    return done
