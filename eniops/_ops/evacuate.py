"""Evacuate an availability zone: every pair whose active instance is in it, failed over to
its standby.

The zone is checked against the Region's zones first (the only call before an unknown zone
is refused). Then the pairs are read (named, `ENIOPS_STANDBY`'s, or the `eniops:standby`
tags') and their instances at once; a pair whose standby is in the zone too is refused
(`standby-in-zone`). Each remaining pair is one `failover_instance`: all-or-nothing at its
checks, guarded, verified. The evacuation is not atomic: `AT_ONCE` pairs fail over at a time,
each on a thread of its own running its own failover (its own deadline), every EC2 call on
the process's one pool and within its request budget; one pair's refusal or failure never
stops the others, and each is reported as it ended.
"""

from __future__ import annotations

import contextvars
import dataclasses
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from .._core import _inputs, _settings
from .._core._errors import EniopsError, InvalidInput, PreconditionFailed
from .._core._keywords import CHECK
from .._core._result import (
    Evacuation,
    Problem,
    Readiness,
    Result,
    ZoneReadiness,
    pair_end,
)
from .._core._threads import at_once
from .._executor import Run
from . import _pairs
from ._operation import Common, run, start
from .failover import FAILOVER, FailoverRequest
from .readiness import CHECK_TIMEOUT_S, assess

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .._core._keywords import CheckKeywords, CommonKeywords

#: Pairs failing over at a time. EC2 lets an account make about 5 changes a second (a burst
#: of 50): eight failovers of a few changes each keep that budget busy without leaving a
#: failover waiting for tokens until its deadline.
AT_ONCE = 8

T = TypeVar("T")


def evacuate(
    zone: str, *, pairs: Mapping[str, str] | None = None, **common: Unpack[CommonKeywords]
) -> Evacuation:
    """Fail over every pair whose active instance is in `zone` to its standby.

    Args:
        zone: the availability zone, by name (``us-east-1a``) or id (``use1-az1``).
        pairs: instance id to its standby's id; None: ``ENIOPS_STANDBY``'s, else the
            instances' ``eniops:standby`` tags.
        **common: the common keywords (`eniops.CommonKeywords`), for each pair's failover:
            mode (``plan`` plans every pair), ec2, session, region, timeout (the whole
            evacuation's, default 300 s: a pair's failover gets what is left of it when it
            starts), require_tag, role_arn, external_id.

    Returns an `Evacuation`: each pair as it ended (moved, unchanged, refused, failed) with
    its `Result` or its error, and the counts.

    Raises:
        InvalidInput (a malformed argument, or a zone the Region does not have: its zones
        are listed), before any change; AwsError, OperationTimeout for the reads before the
        first pair.
    """
    keywords = Common.of("evacuate", common, timeout_s=FAILOVER.timeout_s)
    request = EvacuateRequest.of(zone=zone, pairs=pairs)
    return evacuation(request, keywords, fail_over)


#: How one pair's failover runs: as any (`fail_over`), or as the Lambda runs it (its lease).
FailOver = Callable[[FailoverRequest, Common], Result]


def fail_over(request: FailoverRequest, common: Common) -> Result:
    """One pair's failover, as `failover_instance` runs it."""
    return run(FAILOVER, request, common)


def evacuation(request: EvacuateRequest, keywords: Common, each_one: FailOver) -> Evacuation:
    """The evacuation `request` asks for, each pair's failover run by `each_one`."""
    started = time.monotonic()
    current = start("evacuate", keywords)
    state = read_evacuation(current, request)
    # Every pair's failover on the evacuation's client (one set of credentials, one budget),
    # within what is left of the evacuation's deadline when it starts.
    each = dataclasses.replace(
        keywords, ec2=current.ec2, session=None, role_arn=None, external_id=None
    )

    def one(active: str, standby: str) -> Result | EniopsError:
        left = current.deadline.remaining()
        if left <= 0:
            return current.deadline.timeout_error(
                f"starting the failover of {active}", {"instance": active, "sent": False}
            )
        return _one(active, standby, state, dataclasses.replace(each, timeout_s=left), each_one)

    ended = each_pair(state, one, started, "evacuating")
    return Evacuation(state.zone, ended, state.warnings, time.monotonic() - started)


@dataclass(frozen=True)
class EvacuateRequest:
    """`evacuate`'s arguments, parsed."""

    zone: str
    #: The pairs named by the caller (None: ENIOPS_STANDBY's, else the tags').
    pairs: tuple[tuple[str, str], ...] | None

    @classmethod
    def of(cls, *, zone: object, pairs: object) -> EvacuateRequest:
        """Parse the arguments (no AWS call)."""
        named = None if pairs is None else tuple(sorted(_inputs.pairs(pairs).items()))
        return cls(_inputs.zone(zone), named)


@dataclass(frozen=True)
class EvacuationState:
    """What the evacuation read: the zone's name, the pairs whose active instance is in it,
    the zone of each standby (None: not found), and what it could not use."""

    zone: str
    in_zone: tuple[tuple[str, str], ...]
    standby_zones: Mapping[str, str | None]
    warnings: tuple[str, ...] = ()


def read_evacuation(run_: Run, request: EvacuateRequest) -> EvacuationState:
    """The Region's zones (an unknown zone refused, listing them); then the pairs and their
    instances' zones."""
    gateway = run_.gateway
    zones = gateway.call("DescribeAvailabilityZones", {"AllAvailabilityZones": True})
    zone = _zone_name(request.zone, zones.get("AvailabilityZones") or [])
    warnings: list[str] = []
    if request.pairs is not None:
        pairs = list(request.pairs)
    elif (named := _pairs.from_env()) is not None:
        pairs = sorted(named.items())
    else:
        pairs, warnings = _pairs.tagged(gateway, terminated=True)
    placed = _zones_of(run_, sorted({i for pair in pairs for i in pair}))
    for active, _ in pairs:
        if active not in placed:
            warnings.append(f"{active} is not found: its zone cannot be read, so it is left out")
    in_zone = tuple((a, s) for a, s in pairs if placed.get(a) == zone)
    run_.mark_read()
    return EvacuationState(zone, in_zone, {s: placed.get(s) for _, s in in_zone}, tuple(warnings))


def _zone_name(asked: str, zones: list[Mapping[str, object]]) -> str:
    """The name of the zone `asked` names (by name or id), or `InvalidInput` listing them."""
    for found in zones:
        if asked in (found.get("ZoneName"), found.get("ZoneId")):
            return str(found.get("ZoneName"))
    listed = ", ".join(f"{z.get('ZoneName')} ({z.get('ZoneId')})" for z in zones)
    raise InvalidInput(
        f"zone: this Region has no zone {asked!r}; its zones: {listed or 'none'}",
        details={"argument": "zone", "zones": [str(z.get("ZoneName")) for z in zones]},
    )


def _zones_of(run_: Run, instance_ids: list[str]) -> dict[str, str]:
    """Each instance's zone, by a filter (an instance that does not exist is just absent)."""
    if not instance_ids:
        return {}
    found = run_.gateway.call(
        "DescribeInstances", {"Filters": [{"Name": "instance-id", "Values": instance_ids}]}
    )
    return {
        raw["InstanceId"]: str((raw.get("Placement") or {}).get("AvailabilityZone"))
        for reservation in found.get("Reservations") or []
        for raw in reservation.get("Instances") or []
    }


def each_pair(
    state: EvacuationState, one: Callable[[str, str], T], started: float, doing: str
) -> tuple[tuple[str, str, T], ...]:
    """`one(active, standby)` for every pair, `AT_ONCE` at a time, in the caller's settings
    (their progress said once per pair ended, not per wait); in the pairs' order."""
    settings = _settings.current()
    left = list(state.in_zone)
    ended: dict[tuple[str, str], T] = {}
    lock = threading.Lock()

    def worker() -> None:
        with _settings.use_settings(progress=None):
            while True:
                with lock:
                    if not left:
                        return
                    active, standby = left.pop(0)
                outcome = one(active, standby)
                with lock:
                    ended[(active, standby)] = outcome
                    if settings.progress is not None:
                        settings.progress(
                            f"{doing} {state.zone}: {len(ended)} of {len(state.in_zone)} pairs "
                            f"done{_so_far(list(ended.values()))}",
                            time.monotonic() - started,
                        )

    # Each worker runs in a copy of the caller's context: its settings reach the pairs'.
    contexts = [contextvars.copy_context() for _ in range(min(AT_ONCE, len(left)))]
    at_once(*(lambda c=c: c.run(worker) for c in contexts))
    return tuple((a, s, ended[(a, s)]) for a, s in state.in_zone)


def _so_far(outcomes: list[object]) -> str:
    """An evacuation's refused and failed pairs so far, in words."""
    ends = [pair_end(o) for o in outcomes if isinstance(o, (Result, EniopsError))]
    if not ends:
        return ""
    return f", {ends.count('refused')} refused, {ends.count('failed')} failed"


def check_zone(
    zone: str, *, pairs: Mapping[str, str] | None = None, **common: Unpack[CheckKeywords]
) -> ZoneReadiness:
    """`check_failover` for every pair whose active instance is in `zone` (the command
    line's `check --zone`): each pair's `Readiness`, a standby in the zone too a
    ``standby-in-zone`` problem. Changes nothing."""
    keywords = Common.of("check_failover", common, timeout_s=CHECK_TIMEOUT_S, allowed=CHECK)
    request = EvacuateRequest.of(zone=zone, pairs=pairs)
    started = time.monotonic()
    current = start("check_failover", keywords)
    state = read_evacuation(current, request)
    given = {k: v for k, v in common.items() if k not in ("ec2", "session", "role_arn")}
    given["ec2"] = current.ec2

    def one(active: str, standby: str) -> Readiness:
        if state.standby_zones.get(standby) == state.zone:
            why = f"{standby}, the standby of {active}, is in {state.zone} too"
            return Readiness(False, (Problem("standby-in-zone", standby, why),))
        return assess(active, standby, (), given, ips_from_tag=True)

    checked = each_pair(state, one, started, "checking")
    return ZoneReadiness(
        state.zone, tuple(checked), state.warnings, elapsed_s=time.monotonic() - started
    )


def _one(
    active: str, standby: str, state: EvacuationState, each: Common, each_one: FailOver
) -> Result | EniopsError:
    """One pair's failover (its standby checked against the zone first), or its error."""
    if state.standby_zones.get(standby) == state.zone:
        return PreconditionFailed(
            "standby-in-zone",
            f"{standby}, the standby of {active}, is in {state.zone} too: nothing moved",
            details={"instance": active, "standby": standby, "zone": state.zone},
        )
    try:
        request = FailoverRequest.of(
            from_instance=active, to_instance=standby, guard=each.guard, ips_from_tag=True
        )
        return each_one(request, each)
    except EniopsError as err:
        return err
