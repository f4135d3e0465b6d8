"""`eniops.aws_lambda.handler`: fail an instance over to its standby from EventBridge.

Takes an EC2 "Instance State-change Notification" (stopping, stopped, shutting-down,
terminated), a CloudWatch "Alarm State Change" into ALARM whose metric has an `InstanceId`
dimension, or a direct invocation ``{"operation": "<name>", "args": {...}}``.

The standby comes from the failed instance's tag ``eniops:standby`` or from the environment
variable ``ENIOPS_STANDBY`` (a JSON object: failed instance id to standby id). The deadline is
the invocation's remaining time less `SAFETY_MARGIN_S`. A failed precondition (or invalid
input) is returned as ``{"ok": false, "error": {...}}``, since a retry cannot help; other
errors are raised so that Lambda retries. EventBridge delivers at least once: a repeated event
finds nothing left to move and changes nothing.

Importing this module is cheap: no client is built and nothing imported beyond eniops' core;
the client is made on the first invocation and reused by the execution environment.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ._errors import EniopsError, InvalidInput, PreconditionFailed

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
FAILED_STATES = frozenset({"stopping", "stopped", "shutting-down", "terminated"})

_client: EC2Client | None = None
_log = logging.getLogger("eniops.aws_lambda")


class _JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {"level": record.levelname, "message": record.getMessage()}
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


def _emit(level: int, message: str, **fields: Any) -> None:
    _log.log(level, message, extra={"fields": fields})


def get_client() -> EC2Client:
    """The execution environment's one EC2 client, built on first use."""
    global _client  # noqa: PLW0603  (one client per execution environment, by design)
    if _client is None:
        from ._gateway import build_client  # noqa: PLC0415

        _client = build_client()
    return _client


def set_client(client: EC2Client | None) -> None:
    """Use `client` for the following invocations (local tests; None builds one again)."""
    global _client  # noqa: PLW0603
    _client = client


def _operations() -> dict[str, tuple[Callable[..., Any], str]]:
    import eniops  # noqa: PLC0415

    return {
        "remap_eip": (eniops.remap_eip, "eip"),
        "move_eni": (eniops.move_eni, "eni"),
        "attach_eni": (eniops.attach_eni, "eni"),
        "detach_eni": (eniops.detach_eni, "eni"),
        "add_secondary_ips": (eniops.add_secondary_ips, "target"),
        "remove_secondary_ips": (eniops.remove_secondary_ips, "target"),
        "failover_instance": (eniops.failover_instance, "from_instance"),
        "describe": (eniops.describe, "resource_id"),
    }


def failed_instance(event: Mapping[str, Any]) -> tuple[str | None, str]:
    """The instance an event says has failed, or None and why the event is ignored."""
    detail = event.get("detail") or {}
    kind = event.get("detail-type")
    if kind == "EC2 Instance State-change Notification":
        state = detail.get("state")
        if state not in FAILED_STATES:
            return None, f"state {state!r} is not a failure"
        return str(detail.get("instance-id") or ""), f"instance {state}"
    if kind == "CloudWatch Alarm State Change":
        state = (detail.get("state") or {}).get("value")
        if state != "ALARM":
            return None, f"alarm state {state!r} is not ALARM"
        for metric in (detail.get("configuration") or {}).get("metrics") or []:
            dimensions = ((metric.get("metricStat") or {}).get("metric") or {}).get(
                "dimensions"
            ) or {}
            if dimensions.get("InstanceId"):
                return str(dimensions["InstanceId"]), f"alarm {detail.get('alarmName')}"
        return None, "the alarm's metric has no InstanceId dimension"
    raise InvalidInput(f"unsupported event (detail-type {kind!r}, source {event.get('source')!r})")


def standby_for(instance_id: str, client: EC2Client) -> str:
    """The standby of `instance_id`: ``ENIOPS_STANDBY`` first, else its ``eniops:standby`` tag."""
    configured = os.environ.get(STANDBY_ENV)
    if configured:
        try:
            mapping = json.loads(configured)
        except ValueError as err:
            raise InvalidInput(f"{STANDBY_ENV} is not a JSON object") from err
        if not isinstance(mapping, dict):
            raise InvalidInput(f"{STANDBY_ENV} is not a JSON object")
        if instance_id in mapping:
            return str(mapping[instance_id])
    from ._deadline import Deadline  # noqa: PLC0415
    from ._gateway import Gateway  # noqa: PLC0415

    instance = Gateway(client, Deadline(10.0)).instance(instance_id)
    standby = instance.tags.get(STANDBY_TAG)
    if not standby:
        raise InvalidInput(
            f"no standby configured for {instance_id}: tag it {STANDBY_TAG}=<instance id> "
            f"or set {STANDBY_ENV}",
            details={"instance": instance_id},
        )
    return standby


def handler(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda entry point. See the module documentation."""
    _configure_logging()
    started = time.monotonic()
    request_id = getattr(context, "aws_request_id", None)
    remaining_ms = context.get_remaining_time_in_millis() if context is not None else 60_000
    timeout_s = max(0.5, remaining_ms / 1000 - SAFETY_MARGIN_S)
    require_tag = os.environ.get(REQUIRE_TAG_ENV) or None
    operation = "failover_instance"
    fields: dict[str, Any] = {"request_id": request_id}
    try:
        client = get_client()
        if "operation" in event:
            operation = str(event["operation"])
            result = _direct(event, client, timeout_s)
        else:
            failed, why = failed_instance(event)
            fields.update(trigger=why, instance=failed)
            if failed is None:
                _emit(logging.INFO, "ignored", operation=operation, outcome="ignored", **fields)
                return {"ok": True, "ignored": why}
            standby = standby_for(failed, client)
            fields["standby"] = standby
            import eniops  # noqa: PLC0415

            result = eniops.failover_instance(
                failed,
                to_instance=standby,
                ec2=client,
                timeout=timeout_s,
                require_tag=require_tag,
            ).to_dict()
    except (PreconditionFailed, InvalidInput) as err:
        _emit(
            logging.WARNING,
            "refused",
            operation=operation,
            outcome="refused",
            error=err.to_dict(),
            elapsed_s=round(time.monotonic() - started, 3),
            **fields,
        )
        return {"ok": False, "error": err.to_dict()}
    except EniopsError as err:
        _emit(
            logging.ERROR,
            "failed",
            operation=operation,
            outcome="failed",
            error=err.to_dict(),
            elapsed_s=round(time.monotonic() - started, 3),
            **fields,
        )
        raise
    changed = result.get("changed") if isinstance(result, dict) else None
    _emit(
        logging.INFO,
        "done",
        operation=operation,
        outcome="changed" if changed else "unchanged",
        elapsed_s=round(time.monotonic() - started, 3),
        **fields,
    )
    return result


def _direct(event: Mapping[str, Any], client: EC2Client, timeout_s: float) -> dict[str, Any]:
    name = event["operation"]
    args = event.get("args") or {}
    operations = _operations()
    if name not in operations or not isinstance(args, dict):
        raise InvalidInput(
            f"operation {name!r} with args {type(args).__name__}: expected one of "
            f"{', '.join(sorted(operations))} and an object of arguments"
        )
    function, positional = operations[name]
    kwargs = dict(args)
    if positional not in kwargs:
        raise InvalidInput(f"{name} needs args.{positional}")
    resource = kwargs.pop(positional)
    for forbidden in ("ec2", "session"):
        kwargs.pop(forbidden, None)
    kwargs.setdefault("timeout", timeout_s)
    if "require_tag" not in kwargs and os.environ.get(REQUIRE_TAG_ENV) and name != "describe":
        kwargs["require_tag"] = os.environ[REQUIRE_TAG_ENV]
    if "ips" in kwargs and isinstance(kwargs["ips"], list):
        kwargs["ips"] = tuple(kwargs["ips"])
    import inspect  # noqa: PLC0415

    try:
        inspect.signature(function).bind(resource, ec2=client, **kwargs)
    except TypeError as err:
        raise InvalidInput(f"{name}: {err}") from err
    outcome = function(resource, ec2=client, **kwargs)
    return outcome if isinstance(outcome, dict) else outcome.to_dict()
