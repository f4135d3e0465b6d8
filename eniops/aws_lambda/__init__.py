"""`eniops.aws_lambda.handler`: act on the events that mean an instance failed, or soon will,
only where told to, on the truth as it is when the handler runs, and never quietly.

Which instances: those with a standby, named by ``ENIOPS_STANDBY`` (a JSON object: instance
id to standby id; when set, it names every pair and no tag is read) or else by the
instance's tag ``eniops:standby``. Any other instance's event is ignored (``{"ok": true,
"ignored": why}``, INFO, counted). What each event does is said in `_events` and `_act`;
the README's Lambda section says it per event.

One deadline, the invocation's remaining time less `SAFETY_MARGIN_S`, covers every call;
with less time than the margin nothing is started. `{"ok": true, ...}` carries the Result
(or the Readiness); a failed precondition or invalid input (a malformed event or
configuration included) is returned as ``{"ok": false, "error": {...}}``, since a retry
cannot help, logged at ERROR and counted when it refuses a failover of a pair; other errors
are raised so that Lambda retries. One JSON log line per invocation, and metrics as
embedded-metric-format lines (`_logs`); never credentials. In Lambda the EC2 client is built
during the init phase (the module's import); elsewhere importing this module loads no SDK.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Mapping
from typing import Any, Protocol

from .._core import _inputs, _version
from .._core._errors import EniopsError, InvalidInput, OperationTimeout, PreconditionFailed
from .._core._json import JsonDict
from .._ops._pairs import STANDBY_ENV, STANDBY_TAG
from . import _act, _logs
from ._config import (
    ALARM_PREFIX_ENV,
    EXTERNAL_ID_ENV,
    LEASE_TABLE_ENV,
    REQUIRE_TAG_ENV,
    ROLE_ARN_ENV,
    Config,
)
from ._events import FAILED_STATES, GONE_STATES, Trigger, trigger_of

__all__ = [
    "ALARM_PREFIX_ENV",
    "EXTERNAL_ID_ENV",
    "FAILED_STATES",
    "FORBIDDEN_ARGS",
    "GONE_STATES",
    "LEASE_TABLE_ENV",
    "REQUIRE_TAG_ENV",
    "ROLE_ARN_ENV",
    "SAFETY_MARGIN_S",
    "STANDBY_ENV",
    "STANDBY_TAG",
    "get_client",
    "handler",
    "sample_event",
    "set_client",
]

#: Seconds kept back from the invocation's remaining time to report and return.
SAFETY_MARGIN_S = 3.0
#: Keys a direct invocation may not pass: the client, its credentials and region are the
#: function's own.
FORBIDDEN_ARGS = frozenset({"ec2", "session", "region", "role_arn", "external_id"})

_clients: dict[str, Any] = {}
_cold_start = True


def get_client(service: str = "ec2") -> Any:
    """The execution environment's client of `service` (built once, reused)."""
    client = _clients.get(service)
    if client is None:
        # Lazy: boto3, botocore and tenacity (13 ms) load with the first client; an ignored event
        # builds none.
        from .._gateway import build_client  # noqa: PLC0415

        role = os.environ.get(ROLE_ARN_ENV) or None
        outside = (os.environ.get(EXTERNAL_ID_ENV) or None) if role else None
        client = _clients[service] = build_client(
            service=service, role_arn=role, external_id=outside
        )
    return client


def set_client(client: Any, service: str = "ec2") -> None:
    """Use `client` for `service` in the following invocations (local tests; None builds
    one again)."""
    if client is None:
        _clients.pop(service, None)
    else:
        _clients[service] = client


class LambdaContext(Protocol):
    """What the handler reads of Lambda's context object (also its `aws_request_id` and
    `function_name`, when it has them)."""

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds before Lambda stops the invocation."""
        ...


class _Deadline:
    """The invocation's deadline: its remaining time less the safety margin."""

    def __init__(self, context: LambdaContext | None) -> None:
        remaining_ms = context.get_remaining_time_in_millis() if context is not None else 60_000
        self.ends = time.monotonic() + remaining_ms / 1000 - SAFETY_MARGIN_S

    def left(self, doing: str) -> float:
        """Seconds left; raises `OperationTimeout` when none are (nothing is started)."""
        left = self.ends - time.monotonic()
        if left <= 0:
            raise OperationTimeout(
                f"not enough time left in the invocation to start {doing} safely",
                details={"safety_margin_s": SAFETY_MARGIN_S},
            )
        return left


def handler(event: object, context: LambdaContext | None) -> JsonDict:
    """The Lambda entry point. See the module documentation."""
    global _cold_start  # noqa: PLW0603  (one flag per execution environment)
    _logs.configure()
    request_id = getattr(context, "aws_request_id", None)
    invocation = _logs.Invocation(
        {
            # Powertools' key names, so that existing Logs Insights queries work.
            "service": os.environ.get("POWERTOOLS_SERVICE_NAME") or "eniops",
            "function_name": getattr(context, "function_name", None)
            or os.environ.get("AWS_LAMBDA_FUNCTION_NAME"),
            "function_request_id": request_id,
            "correlation_id": (event.get("id") if isinstance(event, Mapping) else None)
            or request_id,
            "xray_trace_id": _logs.trace_id(),
            "cold_start": _cold_start,
            "version": _version.version(),
        }
    )
    _cold_start = False
    try:
        answer = _handle(event, context, invocation)
    except (PreconditionFailed, InvalidInput) as err:
        pair = "standby" in invocation.fields
        if pair:  # a failover of a pair was refused: someone must know
            instance = invocation.fields.get("instance")
            invocation.metric("FailoverRefused", instance if isinstance(instance, str) else None)
        level = logging.ERROR if pair else logging.WARNING
        invocation.emit(level, "refused", outcome="refused", error=err.to_dict())
        return {"ok": False, "error": err.to_dict()}
    except EniopsError as err:
        invocation.emit(logging.ERROR, "failed", outcome="failed", error=err.to_dict())
        raise
    except Exception as err:
        error = {"type": type(err).__name__, "message": str(err)[:500]}
        invocation.emit(logging.ERROR, "unexpected exception", outcome="crashed", error=error)
        raise
    invocation.emit(invocation.level, "done")
    return answer


def _handle(event: object, context: LambdaContext | None, invocation: _logs.Invocation) -> JsonDict:

    if not isinstance(event, Mapping):
        raise InvalidInput(f"the event is a {type(event).__name__}, not a JSON object")
    call = _act.Call(Config.from_env(), _Deadline(context), invocation, get_client)
    if "operation" in event:
        # Lazy: a direct invocation's reader (the registry and its rules, 26 ms) only for one.
        from ._direct import direct  # noqa: PLC0415

        return direct(call, event, FORBIDDEN_ARGS)
    trigger = trigger_of(event, call.config.alarm_prefix)
    invocation.add(trigger=trigger.why, instance=trigger.instance)
    if trigger.action == "ignore":
        return _ignored(call, trigger, trigger.why)
    if trigger.action == "schedule":
        return {"ok": True, "pairs": _act.readiness(call, _act.tagged_pairs(call))}
    if trigger.action == "zone":
        assert trigger.zone is not None
        return _act.zone_readiness(call, trigger.zone)
    if trigger.action == "launch":
        # Lazy: the launch handling (its operations, 18 ms beyond) only for a launch event.
        from ._launch import launch  # noqa: PLC0415

        return launch(call, trigger)
    pairs = [(i, standby_for(call, i)) for i in trigger.instances]
    if trigger.action == "terminate":
        return _act.terminate(call, trigger, pairs[0][1])
    known = [(i, s) for i, s in pairs if s is not None]
    if not known:
        return _ignored(call, trigger, f"{', '.join(trigger.instances)}: no standby")
    if trigger.action == "check":
        found = _act.readiness(call, known)
        return {"ok": True, **found[0]} if len(found) == 1 else {"ok": True, "pairs": found}
    source, standby = known[0]
    invocation.add(standby=standby)
    return _act.failover(call, trigger, source, standby)


def _ignored(call: _act.Call, trigger: Trigger, why: str) -> JsonDict:
    call.invocation.metric("EventsIgnored", trigger.instance)
    call.invocation.add(outcome="ignored", why=why)
    return {"ok": True, "ignored": why}


def standby_for(call: _act.Call, instance_id: str) -> str | None:
    """The standby of `instance_id`: ENIOPS_STANDBY's when it is set (no call), else the
    instance's ``eniops:standby`` tag (one read within the deadline); None: it has none."""
    if call.config.pairs is not None:
        return call.config.standby_of(instance_id)
    # Lazy: describe and the operations' core (84 ms) only for a standby found by tag.
    from .._ops.describe import instance_tags  # noqa: PLC0415

    tags = instance_tags(
        instance_id, ec2=get_client(), timeout=call.deadline.left("the standby lookup")
    )
    standby = tags.get(STANDBY_TAG)
    if not standby:
        return None
    return _inputs.instance_id(standby, f"{instance_id}'s {STANDBY_TAG} tag")


def sample_event(
    name: str, instance_id: str, *, group: str = "eniops-group", hook: str = "eniops-hook"
) -> JsonDict:
    """A recorded event shipped with eniops (for trying the handler locally), naming
    `instance_id` (and, for Auto Scaling's, the group and its lifecycle hook), sent now (its
    `time`: a Spot warning is acted on only while it is fresh):
    ``ec2-state-change-stopped``, ``cloudwatch-alarm-state-change``, ..."""
    # Lazy: importlib.resources (5 ms) only to read a shipped sample event.
    from importlib import resources  # noqa: PLC0415

    folder = resources.files("eniops") / "events"
    names = sorted(item.name.removesuffix(".json") for item in folder.iterdir())
    if name not in names:
        raise InvalidInput(f"no sample event {name!r}; there are: {', '.join(names)}")
    text = (folder / f"{name}.json").read_text()
    for placeholder, value in (("INSTANCE_ID", instance_id), ("GROUP_NAME", group)):
        text = text.replace(placeholder, value)
    text = text.replace("HOOK_NAME", hook)
    event: JsonDict = json.loads(text)
    if "time" in event:
        event["time"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return event


def _build_at_init() -> None:
    """In Lambda, build the EC2 client while the environment initialises (off the first
    invocation's path); a failure here is retried on first use."""
    if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
        try:
            get_client()
        except Exception:
            set_client(None)


_build_at_init()
