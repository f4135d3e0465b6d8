"""`eniops.aws_lambda.handler`: fail an instance over to its standby from EventBridge.

Takes an EC2 "Instance State-change Notification" (stopping, stopped, shutting-down,
terminated), a CloudWatch "Alarm State Change" into ALARM whose metric has an `InstanceId`
dimension (from EventBridge, or from the alarm's own Lambda action), or a direct invocation
``{"operation": "<name>", "args": {...}}``.

The standby comes from ``ENIOPS_STANDBY`` (a JSON object: failed instance id to standby id)
or from the failed instance's tag ``eniops:standby``. One deadline, the invocation's
remaining time less `SAFETY_MARGIN_S`, covers every call the handler makes, the standby
lookup included; with less time than the margin nothing is started. `{"ok": true, ...}` is
the Result; a failed precondition or invalid input (a malformed event included) is returned
as ``{"ok": false, "error": {...}}`` since a retry cannot help; other errors are raised so
that Lambda retries. A direct invocation can neither switch off ``ENIOPS_REQUIRE_TAG`` nor
stretch the deadline. ``ENIOPS_ROLE_ARN`` makes every call through that role.

Logs are JSON lines (timestamp, level, correlation id, cold start, function, operation,
moved resources, outcome, elapsed time), one per invocation, and one for any unexpected
exception; never credentials. In Lambda the client is built during the init phase (the
module's import); elsewhere importing this module loads no AWS SDK.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from . import _inputs
from ._errors import EniopsError, InvalidInput, NotFound, OperationTimeout, PreconditionFailed

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client

#: Seconds kept back from the invocation's remaining time to report and return.
SAFETY_MARGIN_S = 3.0
#: Tag on the failed instance naming its standby.
STANDBY_TAG = "eniops:standby"
#: Environment variable: JSON object, failed instance id -> standby id.
STANDBY_ENV = "ENIOPS_STANDBY"
#: Environment variable: `require_tag` for every change ("key" or "key=value").
REQUIRE_TAG_ENV = "ENIOPS_REQUIRE_TAG"
#: Environment variable: `role_arn` for every call.
ROLE_ARN_ENV = "ENIOPS_ROLE_ARN"
FAILED_STATES = frozenset({"stopping", "stopped", "shutting-down", "terminated"})
#: States after which EC2 has torn the instance down: finding nothing is an error then.
GONE_STATES = frozenset({"shutting-down", "terminated"})
#: Keys a direct invocation may not pass: the client, its credentials and region are the
#: function's own.
FORBIDDEN_ARGS = frozenset({"ec2", "session", "region", "role_arn"})

_client: EC2Client | None = None
_cold_start = True
_log = logging.getLogger("eniops.aws_lambda")


class _JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {
            "timestamp": datetime.fromtimestamp(record.created, timezone.utc).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "message": record.getMessage(),
        }
        data.update(getattr(record, "fields", {}))
        return json.dumps(data, default=str, sort_keys=True)


class _StdoutLines(logging.Handler):
    """One line per record on whatever `sys.stdout` is now (Lambda sends it to CloudWatch)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stdout.write(self.format(record) + "\n")
            sys.stdout.flush()
        except Exception:
            self.handleError(record)


def _configure_logging() -> None:
    if not any(isinstance(h, _StdoutLines) for h in _log.handlers):
        lines = _StdoutLines()
        lines.setFormatter(_JsonLines())
        _log.addHandler(lines)
        _log.setLevel(logging.INFO)
        _log.propagate = False


def get_client() -> EC2Client:
    """The execution environment's one EC2 client (built once, reused)."""
    global _client  # noqa: PLW0603  (one client per execution environment, by design)
    if _client is None:
        from ._gateway import build_client  # noqa: PLC0415

        _client = build_client(role_arn=os.environ.get(ROLE_ARN_ENV) or None)
    return _client


def set_client(client: EC2Client | None) -> None:
    """Use `client` for the following invocations (local tests; None builds one again)."""
    global _client  # noqa: PLW0603
    _client = client


def _instance_in_alarm(detail: Mapping[str, Any]) -> tuple[str | None, str]:
    state = detail.get("state")
    if not isinstance(state, Mapping):
        raise InvalidInput("the alarm event has no state object")
    value = state.get("value")
    if value != "ALARM":
        return None, f"alarm state {value!r} is not ALARM"
    configuration = detail.get("configuration")
    metrics = configuration.get("metrics") if isinstance(configuration, Mapping) else None
    for metric in metrics if isinstance(metrics, list) else []:
        stat = metric.get("metricStat") if isinstance(metric, Mapping) else None
        inner = stat.get("metric") if isinstance(stat, Mapping) else None
        dimensions = inner.get("dimensions") if isinstance(inner, Mapping) else None
        if isinstance(dimensions, Mapping) and "InstanceId" in dimensions:
            failed = _inputs.instance_id(dimensions["InstanceId"], "dimensions.InstanceId")
            return failed, f"alarm {str(detail.get('alarmName'))[:200]}"
    return None, "the alarm's metric has no InstanceId dimension"


def failed_instance(event: Mapping[str, Any]) -> tuple[str | None, str, str | None]:
    """The instance an event says has failed (or None, and why the event is ignored), and
    the instance state the event reports (for state-change events)."""
    kind = event.get("detail-type")
    detail = event.get("detail")
    if kind == "EC2 Instance State-change Notification" and isinstance(detail, Mapping):
        state = detail.get("state")
        if not isinstance(state, str) or state not in FAILED_STATES:
            return None, f"state {str(state)[:80]!r} is not a failure", None
        failed = _inputs.instance_id(detail.get("instance-id"), "detail.instance-id")
        return failed, f"instance {state}", str(state)
    if kind == "CloudWatch Alarm State Change" and isinstance(detail, Mapping):
        return (*_instance_in_alarm(detail), None)
    alarm = event.get("alarmData")
    if event.get("source") == "aws.cloudwatch" and isinstance(alarm, Mapping):
        return (*_instance_in_alarm(alarm), None)  # the alarm's own Lambda action
    raise InvalidInput(
        f"unsupported event (detail-type {str(kind)[:80]!r}, source "
        f"{str(event.get('source'))[:80]!r})"
    )


def _configured_standby(instance_id: str) -> str | None:
    configured = os.environ.get(STANDBY_ENV)
    if not configured:
        return None
    try:
        mapping = json.loads(configured)
    except ValueError as err:
        raise InvalidInput(f"{STANDBY_ENV} is not a JSON object") from err
    if not isinstance(mapping, dict):
        raise InvalidInput(f"{STANDBY_ENV} is not a JSON object")
    standby = mapping.get(instance_id)
    return str(standby) if standby is not None else None


def standby_for(instance_id: str, client: EC2Client, timeout_s: float) -> str:
    """The standby of `instance_id`: ``ENIOPS_STANDBY`` first, else its ``eniops:standby`` tag
    (read through the operation layer, within `timeout_s`)."""
    configured = _configured_standby(instance_id)
    if configured is not None:
        return configured
    from ._ops.describe import instance_tags  # noqa: PLC0415

    standby = instance_tags(instance_id, ec2=client, timeout=timeout_s).get(STANDBY_TAG)
    if not standby:
        raise InvalidInput(
            f"no standby configured for {instance_id}: tag it {STANDBY_TAG}=<instance id> "
            f"or set {STANDBY_ENV}",
            details={"instance": instance_id},
        )
    return standby


class _Deadline:
    """The invocation's deadline: its remaining time less the safety margin."""

    def __init__(self, context: Any) -> None:
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


def handler(event: Any, context: Any) -> dict[str, Any]:
    """The Lambda entry point. See the module documentation."""
    global _cold_start  # noqa: PLW0603
    _configure_logging()
    started = time.monotonic()
    fields: dict[str, Any] = {
        "_t0": started,
        "cold_start": _cold_start,
        "function_name": getattr(context, "function_name", None),
        "request_id": getattr(context, "aws_request_id", None),
        "correlation_id": (event.get("id") if isinstance(event, Mapping) else None)
        or getattr(context, "aws_request_id", None),
        "operation": "failover_instance",
    }
    _cold_start = False
    try:
        outcome = _handle(event, context, fields)
    except (PreconditionFailed, InvalidInput) as err:
        _emit(logging.WARNING, "refused", fields, outcome="refused", error=err.to_dict())
        return {"ok": False, "error": err.to_dict()}
    except EniopsError as err:
        _emit(logging.ERROR, "failed", fields, outcome="failed", error=err.to_dict())
        raise
    except Exception as err:
        _emit(
            logging.ERROR,
            "unexpected exception",
            fields,
            outcome="crashed",
            error={"type": type(err).__name__, "message": str(err)[:500]},
        )
        raise
    return outcome


def _handle(event: Any, context: Any, fields: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(event, Mapping):
        raise InvalidInput(f"the event is a {type(event).__name__}, not a JSON object")
    deadline = _Deadline(context)
    if "operation" in event:
        fields["operation"] = str(event["operation"])[:80]
        return _direct(event, deadline, fields)
    failed, why, state = failed_instance(event)
    fields.update(trigger=why, instance=failed)
    if failed is None:
        _emit(logging.INFO, "ignored", fields, outcome="ignored")
        return {"ok": True, "ignored": why}
    client = get_client()
    standby = standby_for(failed, client, deadline.left("the standby lookup"))
    fields["standby"] = standby
    from ._ops.failover import failover_instance  # noqa: PLC0415

    result = failover_instance(
        failed,
        to_instance=standby,
        ec2=client,
        timeout=deadline.left("the failover"),
        require_tag=os.environ.get(REQUIRE_TAG_ENV) or None,
    ).to_dict()
    before = result["before"]
    found = before["elastic_ips"] or before["enis"] or before["routes"]
    if state in GONE_STATES and not found:
        raise NotFound(
            f"{failed} is {state} and nothing of it is left to fail over (no Elastic IP, ENI "
            f"or route, none tagged eniops:holder={failed}): the service is down",
            details={"instance": failed, "standby": standby, "state": state},
        )
    fields["moved"] = _moved(result)
    _emit(logging.INFO, "done", fields, outcome="changed" if result["changed"] else "unchanged")
    return {"ok": True, **result}


def _direct(
    event: Mapping[str, Any], deadline: _Deadline, fields: dict[str, Any]
) -> dict[str, Any]:
    from ._registry import BY_NAME  # noqa: PLC0415

    name, args = event.get("operation"), event.get("args", {})
    spec = BY_NAME.get(name) if isinstance(name, str) else None
    if spec is None or not isinstance(args, Mapping):
        raise InvalidInput(
            f"operation {str(name)[:80]!r} with args {type(args).__name__}: expected one of "
            f"{', '.join(sorted(BY_NAME))} and an object of arguments"
        )
    resource, kwargs = _direct_arguments(spec, args, deadline)
    outcome = spec.function(resource, ec2=get_client(), **kwargs)
    data = outcome if isinstance(outcome, dict) else outcome.to_dict()
    if spec.mutating:
        fields["moved"] = _moved(data)
        _emit(logging.INFO, "done", fields, outcome="changed" if data["changed"] else "unchanged")
    else:
        _emit(logging.INFO, "done", fields, outcome="read")
    return {"ok": True, **data}


def _direct_arguments(
    spec: Any, args: Mapping[str, Any], deadline: _Deadline
) -> tuple[Any, dict[str, Any]]:
    """A direct invocation's arguments, checked: its own names only, no client of its own,
    the function's tag guard and deadline (neither switched off nor stretched)."""
    kwargs = dict(args)
    if spec.positional not in kwargs:
        raise InvalidInput(f"{spec.name} needs args.{spec.positional}")
    refused = sorted(FORBIDDEN_ARGS & set(kwargs))
    if refused:
        raise InvalidInput(f"{spec.name}: {', '.join(refused)} are the function's own, not args")
    known = {spec.positional, *spec.keywords, *spec.common}
    unknown = sorted(str(k) for k in set(kwargs) - known)
    if unknown:
        raise InvalidInput(f"{spec.name}: {unknown[0][:80]!r} is not one of its arguments")
    resource = kwargs.pop(spec.positional)
    configured = os.environ.get(REQUIRE_TAG_ENV) or None
    if configured is not None and "require_tag" in spec.common:
        if kwargs.get("require_tag", configured) != configured:
            raise InvalidInput(f"require_tag is {configured!r} here ({REQUIRE_TAG_ENV})")
        kwargs["require_tag"] = configured
    left = deadline.left(spec.name)
    wanted = kwargs.get("timeout", left)
    if isinstance(wanted, (int, float)) and not isinstance(wanted, bool) and wanted > left:
        wanted = left  # a direct invocation cannot stretch the deadline
    kwargs["timeout"] = wanted
    for key in ("ips", "route_tables"):
        if isinstance(kwargs.get(key), list):
            kwargs[key] = tuple(kwargs[key])
    missing = [k for k in _required(spec) if k not in kwargs]
    if missing:
        raise InvalidInput(f"{spec.name} needs args.{missing[0]}")
    return resource, kwargs


def _required(spec: Any) -> list[str]:
    import inspect  # noqa: PLC0415

    parameters = inspect.signature(spec.function).parameters.values()
    return [p.name for p in parameters if p.kind is p.KEYWORD_ONLY and p.default is p.empty]


def _moved(result: Mapping[str, Any]) -> list[str]:
    """The ids of the Elastic IPs, ENIs and route tables a result changed."""
    moved: list[str] = []
    for part in [result, *result.get("children", [])]:
        if not part.get("changed"):
            continue
        before = part.get("before", {})
        for key, field in (("address", "allocation_id"), ("eni", "eni"), ("route", "route_table")):
            value = before.get(key)
            if isinstance(value, Mapping) and value.get(field):
                moved.append(str(value[field]))
        routes = before.get("routes")
        if isinstance(routes, Mapping):
            moved.extend(str(k) for k in routes)
    return sorted(set(moved))


def _emit(level: int, message: str, fields: dict[str, Any], **more: Any) -> None:
    data = {k: v for k, v in fields.items() if k != "_t0"}
    data["elapsed_s"] = round(time.monotonic() - fields["_t0"], 3)
    _log.log(level, message, extra={"fields": {**data, **more}})


def _build_at_init() -> None:
    """In Lambda, build the client while the environment initialises (off the first
    invocation's path); a failure here is retried on first use."""
    if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
        try:
            get_client()
        except Exception:
            set_client(None)


def sample_event(name: str, instance_id: str) -> dict[str, Any]:
    """A recorded event shipped with eniops (for trying the handler locally), naming
    `instance_id`: ``ec2-state-change-stopped``, ``cloudwatch-alarm-state-change``, ..."""
    from importlib import resources  # noqa: PLC0415

    folder = resources.files("eniops") / "events"
    names = sorted(item.name.removesuffix(".json") for item in folder.iterdir())
    if name not in names:
        raise InvalidInput(f"no sample event {name!r}; there are: {', '.join(names)}")
    text = (folder / f"{name}.json").read_text().replace("INSTANCE_ID", instance_id)
    event: dict[str, Any] = json.loads(text)
    return event


_build_at_init()
