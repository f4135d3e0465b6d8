"""What an event asks of the handler, read from its recorded shape. Pure (the time a Spot
warning is judged at aside, which is injectable).

Each kind is recognised by its `source` and `detail-type` together (a custom event that
borrows a detail-type is not EC2's); a kind the handler does not act on is ignored, with
why. A known kind with fields that do not read is `InvalidInput`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Literal

from .._core import _inputs
from .._core._errors import InvalidInput

#: States of a state-change event that fail an instance over (and must still hold).
FAILED_STATES = frozenset({"stopping", "stopped", "shutting-down", "terminated"})
#: States after which EC2 has torn the instance down: finding nothing is an error then.
GONE_STATES = frozenset({"shutting-down", "terminated"})
#: EC2's status-check metrics: an alarm on one of them is a failure of the instance.
STATUS_CHECK_METRICS = frozenset(
    {"StatusCheckFailed", "StatusCheckFailed_Instance", "StatusCheckFailed_System"}
)
#: AWS Health event codes that announce an instance's retirement or maintenance.
HEALTH_CATEGORY = "scheduledChange"
#: An AWS Health EC2 issue: when it names a zone, that zone's pairs are checked (never moved).
HEALTH_ISSUE = "issue"
#: A Spot interruption warning gives about two minutes; one whose event `time` is older than
#: this is a replay (Lambda retries an event for up to six hours): acting on it would fail
#: over an instance that may be running and serving again.
SPOT_WINDOW_S = 300.0
SPOT_KIND = ("aws.ec2", "EC2 Spot Instance Interruption Warning")

Action = Literal["failover", "check", "zone", "launch", "terminate", "schedule", "ignore"]


@dataclass(frozen=True)
class Lifecycle:
    """An Auto Scaling lifecycle action: what `CompleteLifecycleAction` needs."""

    group: str
    hook: str
    token: str | None
    instance: str


@dataclass(frozen=True)
class Trigger:
    """What an event asks: the action, why (for the logs), the instances it is about, and
    what must still hold when the handler reads (a state, an alarm)."""

    action: Action
    why: str
    instances: tuple[str, ...] = ()
    #: A state-change event: the instance must still be in one of these states.
    states: frozenset[str] = frozenset()
    #: The state the event reported (a teardown finding nothing is an error).
    state: str | None = None
    #: An alarm event: the alarm to read again (it must still be in ALARM).
    alarm: str | None = None
    lifecycle: Lifecycle | None = None
    #: A zone's issue: the zone (name or id) whose pairs are checked.
    zone: str | None = None

    @property
    def instance(self) -> str | None:
        """The one instance the event is about, if it is about one."""
        return self.instances[0] if len(self.instances) == 1 else None


def _ignore(why: str, *instances: str) -> Trigger:
    return Trigger("ignore", why, instances)


def _mapping(value: object, where: str) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        raise InvalidInput(f"{where}: expected an object, got {type(value).__name__}")
    return value


def _items(value: object, where: str) -> list[object]:
    """A list field of an event (missing or null: none)."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidInput(f"{where}: expected a list, got {type(value).__name__}")
    return value


def _entities(detail: Mapping[str, object]) -> list[object]:
    """The values of an AWS Health event's affected entities."""
    entities = _items(detail.get("affectedEntities"), "detail.affectedEntities")
    return [e.get("entityValue") for e in entities if isinstance(e, Mapping)]


def _instance(value: object, where: str) -> str:
    return _inputs.instance_id(value, where)


def _state_change(detail: Mapping[str, object]) -> Trigger:
    instance = _instance(detail.get("instance-id"), "detail.instance-id")
    state = detail.get("state")
    if not isinstance(state, str) or state not in FAILED_STATES:
        return _ignore(f"state {str(state)[:80]!r} is not a failure", instance)
    return Trigger("failover", f"instance {state}", (instance,), FAILED_STATES, state)


def _spot(detail: Mapping[str, object]) -> Trigger:
    instance = _instance(detail.get("instance-id"), "detail.instance-id")
    action = str(detail.get("instance-action", "terminate"))[:40]
    return Trigger("failover", f"spot interruption ({action}) in two minutes", (instance,))


_OFFSET = re.compile(r"([+-][0-9]{2})([0-9]{2})$")


def event_time(event: Mapping[str, object]) -> datetime:
    """The event's `time` (ISO 8601, as EventBridge writes it: ``…Z``, ``…+0000``)."""
    value = event.get("time")
    text = value.strip() if isinstance(value, str) else ""
    text = _OFFSET.sub(r"\1:\2", text[:-1] + "+00:00" if text.endswith("Z") else text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            f"the event's time {str(value)[:40]!r} is not an ISO 8601 time"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def _fresh(trigger: Trigger, event: Mapping[str, object], now: float) -> Trigger:
    """A Spot warning older than its window is stale: ignored, with why."""
    age = now - event_time(event).timestamp()
    if age <= SPOT_WINDOW_S:
        return trigger
    return _ignore(
        f"stale: the Spot interruption warning is {int(age // 60)} minutes old (its window is "
        f"{int(SPOT_WINDOW_S // 60)}): a replay, not a warning",
        *trigger.instances,
    )


def _readiness(detail: Mapping[str, object], why: str) -> Trigger:
    return Trigger("check", why, (_instance(detail.get("instance-id"), "detail.instance-id"),))


def _health(event: Mapping[str, object], detail: Mapping[str, object]) -> Trigger:
    if detail.get("service") == "EC2" and detail.get("eventTypeCategory") == HEALTH_ISSUE:
        return _zone_issue(event, detail)
    if detail.get("service") != "EC2" or detail.get("eventTypeCategory") != HEALTH_CATEGORY:
        return _ignore("an AWS Health event that is neither an EC2 scheduled change nor an issue")
    found = _entities(detail)
    resources = _items(event.get("resources"), "resources")
    found += [r.rsplit("/", 1)[-1] for r in resources if isinstance(r, str)]
    instances = tuple(dict.fromkeys(i for i in found if isinstance(i, str) and i.startswith("i-")))
    for instance in instances:
        _instance(instance, "detail.affectedEntities")
    if not instances:
        return _ignore("the AWS Health event names no instance")
    code = str(detail.get("eventTypeCode", "scheduled change"))[:80]
    return Trigger("check", f"AWS Health {code}", instances)


def _zone_issue(event: Mapping[str, object], detail: Mapping[str, object]) -> Trigger:
    """An EC2 issue in one zone: that zone's pairs are checked. The zone is the event's
    ``availabilityZone`` when it has one (its entities are then not read: an entity that only
    looks like a zone name cannot blur it), else the one zone its affected entities name; the
    handler checks it against the Region's zones before reading a pair."""
    code = str(detail.get("eventTypeCode", "issue"))[:80]
    if detail.get("statusCode") == "closed":
        return _ignore(f"AWS Health {code} is closed")
    where, here = detail.get("eventRegion"), event.get("region")
    if isinstance(where, str) and isinstance(here, str) and where and here and where != here:
        return _ignore(f"AWS Health {code} is about {where[:40]}, not {here[:40]}")
    stated = detail.get("availabilityZone")
    if stated is not None and stated != "" and not _inputs.names_a_zone(stated):
        return _ignore(f"AWS Health {code}'s availabilityZone {str(stated)[:40]!r} is not a zone")
    named = [stated] if stated else _entities(detail)
    zones = tuple(dict.fromkeys(str(z) for z in named if _inputs.names_a_zone(z)))
    if not zones:
        return _ignore(f"AWS Health {code} names no availability zone")
    if len(zones) > 1:
        return _ignore(f"AWS Health {code} names {len(zones)} zones: {', '.join(zones)[:200]}")
    return Trigger("zone", f"AWS Health {code} in {zones[0]}", zone=zones[0])


def _lifecycle(detail: Mapping[str, object], action: Action) -> Trigger:
    def text(key: str) -> str:
        value = detail.get(key)
        if not isinstance(value, str) or not value or len(value) > 255:
            raise InvalidInput(f"detail.{key}: expected a name, got {str(value)[:80]!r}")
        return value

    instance = _instance(detail.get("EC2InstanceId"), "detail.EC2InstanceId")
    token = detail.get("LifecycleActionToken")
    lifecycle = Lifecycle(
        text("AutoScalingGroupName"),
        text("LifecycleHookName"),
        token if isinstance(token, str) and token else None,
        instance,
    )
    why = f"Auto Scaling {'launch' if action == 'launch' else 'terminate'} of {instance}"
    return Trigger(action, why, (instance,), lifecycle=lifecycle)


def alarm_trigger(alarm: Mapping[str, object], prefix: str) -> Trigger:
    """An alarm's state change: only into ALARM, only a status-check alarm on AWS/EC2 or one
    named with `prefix`, and only with one instance in its metric's dimensions."""
    name = alarm.get("alarmName")
    if not isinstance(name, str) or not name:
        raise InvalidInput("the alarm event has no alarmName")
    state = _mapping(alarm.get("state"), "the alarm's state").get("value")
    if state != "ALARM":
        return _ignore(f"alarm {name[:200]} is {str(state)[:20]}, not ALARM")
    configuration = alarm.get("configuration")
    metrics = configuration.get("metrics") if isinstance(configuration, Mapping) else None
    found: list[tuple[str, str, str]] = []
    for entry in metrics if isinstance(metrics, list) else []:
        stat = entry.get("metricStat") if isinstance(entry, Mapping) else None
        metric = stat.get("metric") if isinstance(stat, Mapping) else None
        dimensions = metric.get("dimensions") if isinstance(metric, Mapping) else None
        named = isinstance(dimensions, Mapping) and "InstanceId" in dimensions
        if named and isinstance(metric, Mapping) and isinstance(dimensions, Mapping):
            instance = _instance(dimensions["InstanceId"], "the alarm's InstanceId dimension")
            found.append((instance, str(metric.get("namespace")), str(metric.get("name"))))
    instances = tuple(dict.fromkeys(i for i, _, _ in found))
    if not instances:
        return _ignore(f"alarm {name[:200]}: its metric has no InstanceId dimension")
    if len(instances) > 1:
        return _ignore(f"alarm {name[:200]} names {len(instances)} instances", *instances)
    status = all(ns == "AWS/EC2" and m in STATUS_CHECK_METRICS for _, ns, m in found)
    if not (status or name.startswith(prefix)):
        return _ignore(
            f"alarm {name[:200]} is neither an EC2 status check nor named {prefix}*", *instances
        )
    return Trigger("failover", f"alarm {name[:200]}", instances, alarm=name)


#: (source, detail-type) -> what the event asks.
_KINDS: dict[tuple[str, str], Callable[[Mapping[str, object]], Trigger]] = {
    ("aws.ec2", "EC2 Instance State-change Notification"): _state_change,
    SPOT_KIND: _spot,
    ("aws.ec2", "EC2 Instance Rebalance Recommendation"): lambda d: _readiness(
        d, "rebalance recommendation"
    ),
    ("aws.autoscaling", "EC2 Instance-launch Lifecycle Action"): lambda d: _lifecycle(d, "launch"),
    ("aws.autoscaling", "EC2 Instance-terminate Lifecycle Action"): lambda d: _lifecycle(
        d, "terminate"
    ),
}


def trigger_of(event: Mapping[str, object], alarm_prefix: str, now: float | None = None) -> Trigger:
    """What `event` asks of the handler (raises `InvalidInput` for a malformed known kind);
    `now` (epoch seconds) judges a Spot warning's age."""
    source, kind = event.get("source"), event.get("detail-type")
    if source == "aws.cloudwatch" and "alarmData" in event:  # the alarm's own Lambda action
        return alarm_trigger(_mapping(event["alarmData"], "alarmData"), alarm_prefix)
    if (source, kind) == ("aws.cloudwatch", "CloudWatch Alarm State Change"):
        return alarm_trigger(_mapping(event.get("detail"), "detail"), alarm_prefix)
    if (source, kind) == ("aws.events", "Scheduled Event"):
        return Trigger("schedule", "scheduled readiness check")
    if (source, kind) == ("aws.health", "AWS Health Event"):
        return _health(event, _mapping(event.get("detail"), "detail"))
    parse = (
        _KINDS.get((source, kind)) if isinstance(source, str) and isinstance(kind, str) else None
    )
    if parse is None:
        return _ignore(
            f"not an event eniops acts on (source {str(source)[:80]!r}, detail-type "
            f"{str(kind)[:80]!r})"
        )
    trigger: Trigger = parse(_mapping(event.get("detail"), "detail"))
    if (source, kind) == SPOT_KIND:
        return _fresh(trigger, event, time.time() if now is None else now)
    return trigger
