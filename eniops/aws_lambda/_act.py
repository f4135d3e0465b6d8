"""What the handler does for each kind of event, on the truth as it is when it runs.

A failover re-reads what set it off (the instance's state, the alarm) with its own first
read, and holds the instance's lease (DynamoDB) before its first change: a stale trigger
changes nothing, and of two invocations for one instance one moves and the other finds
nothing left to move. Readiness events run `check_failover` only. Auto Scaling lifecycle
actions are completed whatever happens, with the reason when abandoned.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from .._core._errors import (
    EniopsError,
    InvalidInput,
    NotFound,
    OperationTimeout,
    PreconditionFailed,
)
from .._core._threads import at_once
from .._ops import _pairs
from .._state._model import Instance
from ._config import LEASE_TABLE_ENV, Config
from ._events import GONE_STATES, Trigger
from ._lease import Lease, Leases
from ._logs import Invocation

if TYPE_CHECKING:
    from .._core._json import Json, JsonDict
    from .._core._keywords import CheckKeywords
    from .._core._result import CheckedPair, Evacuation, Result
    from .._gateway import Gateway
    from .._ops._operation import Common
    from .._ops.failover import FailoverRequest


class Deadline(Protocol):
    """The invocation's deadline (the handler's)."""

    #: When it ends (monotonic seconds).
    ends: float

    def left(self, doing: str) -> float:
        """Seconds left for `doing`; raises `OperationTimeout` when none are."""
        ...


@dataclass
class Call:
    """One invocation: its configuration, deadline, log line and clients (by service)."""

    config: Config
    deadline: Deadline
    invocation: Invocation
    #: A boto3 client by service name (the function's own).
    client: Callable[[str], Any]

    def gateway(self, service: str, doing: str) -> Gateway:
        """A gateway on `service`'s client, bounded by what is left of the invocation."""
        # Lazy: the operations' core (59 ms) only for an event acted on; an ignored one spares it.
        from .._ops._operation import gateway_for  # noqa: PLC0415

        return gateway_for(self.client(service), self.deadline.left(doing))

    def common(self, doing: str) -> CheckKeywords:
        """The common keywords of an operation run by the handler."""
        return {
            "ec2": self.client("ec2"),
            "timeout": self.deadline.left(doing),
            "require_tag": self.config.require_tag,
        }


class _Busy(Exception):
    """Another invocation holds the instance's lease: wait for it, then read again."""


def failover(call: Call, trigger: Trigger, source: str, standby: str) -> JsonDict:
    """Fail `source` over to `standby`, if what set it off still holds; once at a time."""
    # Lazy: failover and the operations' core (101 ms) only for an event acted on.
    from .._ops._operation import Common  # noqa: PLC0415
    from .._ops.failover import FAILOVER, FailoverRequest, StaleTrigger  # noqa: PLC0415

    common = Common.of(FAILOVER.name, call.common("the failover"), timeout_s=FAILOVER.timeout_s)
    request = FailoverRequest.of(
        from_instance=source, to_instance=standby, guard=common.guard, ips_from_tag=True
    )
    leases = _leases(call, source, standby)
    try:
        while True:
            try:
                result = _once(call, trigger, request, common, leases)
                break
            except StaleTrigger as stale:
                why = f"stale: {stale}"
                call.invocation.metric("EventsIgnored", source)
                call.invocation.add(outcome="ignored", why=why)
                return {"ok": True, "ignored": why}
            except _Busy:
                assert leases is not None
                if not leases.wait(call.deadline.ends):
                    raise OperationTimeout(
                        f"another invocation held {source}'s failover until the deadline",
                        details={"instance": source, "lease": [b.key for b in leases.busy]},
                    ) from None
                left = call.deadline.left("the failover")
                common = dataclasses.replace(common, timeout_s=left)
    finally:
        if leases is not None and leases.unavailable is not None:
            _went_on_without(call, source, leases.unavailable)
    return _report(call, trigger, source, result)


def evacuate(call: Call, zone: object, kwargs: Mapping[str, object]) -> Evacuation:
    """A direct invocation's evacuation: each pair's failover under the leases of its
    instances (as an event's), all within the invocation's deadline."""
    # Lazy: the evacuation and the operations' core (101 ms) only for an evacuation.
    from .._ops._operation import Common, run  # noqa: PLC0415
    from .._ops.evacuate import EvacuateRequest, evacuation  # noqa: PLC0415
    from .._ops.failover import FAILOVER  # noqa: PLC0415

    def leased(request: FailoverRequest, common: Common) -> Result:
        leases = _leases(call, request.source, request.target)
        try:
            while leases is not None and not leases.acquire():
                if not leases.wait(call.deadline.ends):
                    raise OperationTimeout(
                        f"another invocation held {request.source}'s failover until the deadline",
                        details={"instance": request.source, "sent": False},
                    )
            return run(FAILOVER, request, common)
        finally:
            if leases is not None:
                leases.release()
                if leases.unavailable is not None:
                    _went_on_without(call, request.source, leases.unavailable)

    given = {k: v for k, v in kwargs.items() if k != "pairs"}
    keywords = Common.of(
        "evacuate", {**given, "ec2": call.client("ec2")}, timeout_s=FAILOVER.timeout_s
    )
    request = EvacuateRequest.of(zone=zone, pairs=kwargs.get("pairs"))
    return evacuation(request, keywords, leased)


def _went_on_without(call: Call, source: str, why: EniopsError) -> None:
    """The lease table could not be reached: the failover went on without it, loudly."""
    call.invocation.metric("LeaseUnavailable", source)
    call.invocation.raise_level(logging.WARNING)
    call.invocation.add(
        lease=f"unavailable ({why.message[:300]}): the failover went on without it; a "
        "duplicate event meanwhile was not held back"
    )


def _once(
    call: Call, trigger: Trigger, request: FailoverRequest, common: Common, leases: Leases | None
) -> Result:
    # Lazy: failover and the operations' core (101 ms) only for an event acted on.
    from .._ops._operation import run  # noqa: PLC0415
    from .._ops.failover import FAILOVER, Fresh, StaleTrigger  # noqa: PLC0415

    def read() -> Callable[[Instance], None]:
        taken, alarm = at_once(
            lambda: leases.acquire() if leases is not None else True,
            lambda: _alarm_state(call, trigger.alarm) if trigger.alarm else None,
        )

        def judge(source: Instance) -> None:
            if trigger.states and source.state not in trigger.states:
                raise StaleTrigger(f"{source.instance_id} is {source.state} now")
            if trigger.alarm and alarm != "ALARM":
                raise StaleTrigger(f"alarm {trigger.alarm} is {alarm or 'gone'} now")
            if not taken:
                raise _Busy

        return judge

    try:
        fresh = dataclasses.replace(request, fresh=Fresh(read))
        return run(FAILOVER, fresh, common)
    finally:
        if leases is not None and not leases.release():
            call.invocation.add(lease="not released: it expires with this invocation's deadline")


#: Once per execution environment (cold start): the WARNING that no lease table is set.
_told_no_table: list[bool] = []


def _leases(call: Call, source: str, standby: str) -> Leases | None:
    """The leases of the source and of its standby (two failovers into one shared standby
    run one after the other), or None without a table (a WARNING once per cold start:
    duplicate events are then not held back)."""
    table = call.config.lease_table
    if table is None:
        if not _told_no_table:
            _told_no_table.append(True)
            call.invocation.raise_level(logging.WARNING)
            call.invocation.add(
                lease=f"no {LEASE_TABLE_ENV}: duplicate events for one instance are not held "
                "back (each re-reads and is guarded, but each may report and count the moves)"
            )
        return None
    remaining = call.deadline.left("taking the lease")
    gateway = call.gateway("dynamodb", "taking the lease")
    expires = time.time() + remaining
    held = [Lease(gateway, table, f"failover/{i}", expires) for i in (source, standby)]
    return Leases(held)


def _alarm_state(call: Call, name: str) -> str | None:
    """The alarm's state now (None: it no longer exists)."""
    found = call.gateway("cloudwatch", "reading the alarm").call(
        "DescribeAlarms", {"AlarmNames": [name], "AlarmTypes": ["MetricAlarm", "CompositeAlarm"]}
    )
    alarms = [*(found.get("MetricAlarms") or []), *(found.get("CompositeAlarms") or [])]
    return str(alarms[0].get("StateValue")) if alarms else None


def _report(call: Call, trigger: Trigger, source: str, result: Result) -> JsonDict:
    before = result.before
    found = any(before.get(k) for k in ("elastic_ips", "enis", "routes", "ips"))
    if trigger.state in GONE_STATES and not found:
        raise NotFound(
            f"{source} is {trigger.state} and nothing of it is left to fail over (no Elastic IP, "
            f"ENI or route, none tagged eniops:holder={source}): the service is down",
            details={"instance": source, "state": trigger.state},
        )
    call.invocation.add(moved=moved(result))
    if result.changed:
        call.invocation.metric("Failovers", source)
        call.invocation.metric("FailoverSeconds", source, round(result.elapsed_s, 3))
    call.invocation.add(outcome="changed" if result.changed else "unchanged")
    return {"ok": True, **result.to_dict()}


def moved(result: Result) -> list[str]:
    """The ids of the Elastic IPs, ENIs and route tables a result changed."""
    found: list[str] = []
    for part in [result, *result.children]:
        if not part.changed:
            continue
        before = part.before
        for key, field in (("address", "allocation_id"), ("eni", "eni"), ("route", "route_table")):
            value = before.get(key)
            if isinstance(value, Mapping) and value.get(field):
                found.append(str(value[field]))
        routes = before.get("routes")
        if isinstance(routes, Mapping):
            found.extend(str(k) for k in routes)
    return sorted(set(found))


def readiness(call: Call, pairs: list[tuple[str, str]]) -> list[JsonDict]:
    """`check_failover` of each pair, a few at once; each logged and counted."""
    # Lazy: the readiness check (80 ms with the operations' core) only for a check.
    from .._ops.readiness import assess  # noqa: PLC0415

    def one(source: str, standby: str) -> CheckedPair:
        found = assess(source, standby, (), call.common("a readiness check"), ips_from_tag=True)
        return source, standby, found

    done: list[CheckedPair] = []
    for first in range(0, len(pairs), 4):  # a few pairs at once: describes are rationed
        batch = pairs[first : first + 4]
        done.extend(at_once(*(lambda s=s, t=t: one(s, t) for s, t in batch)))
    _logged(call, done)
    return [found.to_dict() for _, _, found in done]


def zone_readiness(call: Call, zone: str) -> JsonDict:
    """An EC2 issue in `zone`: `check_failover` of each pair whose active instance is in it
    (the zone checked against the Region's first), each logged and counted. Nothing moves:
    an evacuation is an operator's call (or a direct invocation's)."""
    # Lazy: the zone's check (70 ms with the operations' core) only for a zone's issue.
    from .._ops.evacuate import check_zone  # noqa: PLC0415

    found = check_zone(zone, pairs=call.config.pairs, **call.common("the zone's check"))
    call.invocation.add(zone=found.zone)
    _logged(call, found.pairs)
    return {"ok": True, **found.to_dict()}


def _logged(call: Call, checked: Sequence[CheckedPair]) -> None:
    """Each pair's readiness on the invocation's log line (WARNING when one is not ready),
    and counted: `PairNotReady` 1 or 0 for each."""
    for source, _, found in checked:
        call.invocation.metric("PairNotReady", source, 0.0 if found.ready else 1.0)
    summary: list[Json] = [
        {
            "instance": source,
            "standby": standby,
            "ready": found.ready,
            "problems": [f"{p.reason} {p.resource}".strip() for p in found.problems],
        }
        for source, standby, found in checked
    ]
    ready = all(found.ready for _, _, found in checked)
    call.invocation.add(pairs=summary, outcome="ready" if ready else "not-ready")
    if not ready:
        call.invocation.raise_level(logging.WARNING)


def tagged_pairs(call: Call) -> list[tuple[str, str]]:
    """Every pair the handler acts on: ENIOPS_STANDBY's, else every instance tagged with
    its standby (one read; a tag that does not read is said at WARNING)."""
    if call.config.pairs is not None:
        return sorted(call.config.pairs.items())
    pairs, warnings = _pairs.tagged(call.gateway("ec2", "reading the pairs"))
    for warning in warnings:
        call.invocation.emit(logging.WARNING, "a standby tag does not read", error=warning)
    return pairs


def complete(call: Call, trigger: Trigger, result: str, reason: str = "") -> None:
    """Answer the lifecycle action (`CONTINUE` or `ABANDON`), so the group goes on."""
    lifecycle = trigger.lifecycle
    assert lifecycle is not None
    params: dict[str, str] = {
        "LifecycleHookName": lifecycle.hook,
        "AutoScalingGroupName": lifecycle.group,
        "LifecycleActionResult": result,
        "InstanceId": lifecycle.instance,
    }
    if lifecycle.token:
        params["LifecycleActionToken"] = lifecycle.token
    call.gateway("autoscaling", "completing the lifecycle action").call(
        "CompleteLifecycleAction", params
    )
    call.invocation.add(lifecycle_result=result, lifecycle_reason=reason or None)


def terminate(call: Call, trigger: Trigger, standby: str | None) -> JsonDict:
    """A terminating group member: fail it over to its standby first, then `CONTINUE`
    (a refusal is logged at ERROR and counted; termination goes on either way)."""
    source = trigger.lifecycle.instance if trigger.lifecycle else ""
    if standby is None:
        complete(call, trigger, "CONTINUE", "no standby")
        call.invocation.metric("EventsIgnored", source)
        call.invocation.add(outcome="ignored")
        return {"ok": True, "ignored": f"{source} has no standby"}
    try:
        answer = failover(call, trigger, source, standby)
    except (InvalidInput, PreconditionFailed) as err:  # retrying cannot help: let it go
        complete(call, trigger, "CONTINUE", f"the failover was refused: {err.message}")
        raise
    complete(call, trigger, "CONTINUE")
    return answer
