"""The handler's log lines, as Lambda's own JSON logs read, and its metrics, as CloudWatch
embedded-metric-format lines: one JSON object per line on stdout, never credentials.

The level follows `AWS_LAMBDA_LOG_LEVEL` (Lambda's application log level; INFO when unset).
Metric lines are written whatever the level: alarms must not depend on it.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from typing import Literal

from .._core._json import Json, JsonDict, JsonObject
from .._core._log import JsonLines, logger

#: CloudWatch namespace of eniops' metrics.
NAMESPACE = "eniops"
Metric = Literal[
    "Failovers",
    "FailoverRefused",
    "EventsIgnored",
    "FailoverSeconds",
    "LeaseUnavailable",
    "PairNotReady",
]
#: The one metric with the dimension `Instance`: its values are bounded by the configured pairs.
#: Each distinct set of dimension values is a custom metric, billed: on the others an instance
#: id would make one per instance that ever stopped, so there it is only a property.
PER_PAIR: frozenset[str] = frozenset({"PairNotReady"})
_UNITS: dict[str, str] = {"FailoverSeconds": "Seconds"}
#: Lambda's level names (AWS_LAMBDA_LOG_LEVEL) as Python's.
_LEVELS = {
    "TRACE": logging.DEBUG,
    "DEBUG": logging.DEBUG,
    "INFO": logging.INFO,
    "WARN": logging.WARNING,
    "WARNING": logging.WARNING,
    "ERROR": logging.ERROR,
    "FATAL": logging.CRITICAL,
}

log = logger("eniops.aws_lambda")


def level_from_env() -> int:
    """`AWS_LAMBDA_LOG_LEVEL` as a logging level (INFO when unset or unknown)."""
    return _LEVELS.get(os.environ.get("AWS_LAMBDA_LOG_LEVEL", "").upper(), logging.INFO)


def _write(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


class _StdoutLines(logging.Handler):
    """One line per record on whatever `sys.stdout` is now (Lambda sends it to CloudWatch)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            _write(self.format(record))
        except Exception:
            self.handleError(record)


def configure() -> None:
    """Log JSON lines to stdout at Lambda's configured level (again on every invocation:
    the level may change between them)."""
    if not any(isinstance(h, _StdoutLines) for h in log.handlers):
        lines = _StdoutLines()
        lines.setFormatter(JsonLines())
        log.addHandler(lines)
        log.propagate = False
    log.setLevel(level_from_env())


def trace_id() -> str | None:
    """The X-Ray trace id of this invocation (`Root=` of `_X_AMZN_TRACE_ID`), if any."""
    header = os.environ.get("_X_AMZN_TRACE_ID", "")
    for part in header.split(";"):
        key, _, value = part.partition("=")
        if key == "Root" and value:
            return value
    return None


class Invocation:
    """One invocation's log fields and its one summary line."""

    def __init__(self, fields: JsonObject) -> None:
        self.started = time.monotonic()
        self.fields = {k: v for k, v in fields.items() if v is not None}
        #: The summary line's level: INFO unless something raised it.
        self.level = logging.INFO

    def raise_level(self, level: int) -> None:
        """The summary line is at least at `level`."""
        self.level = max(self.level, level)

    def add(self, **fields: Json) -> None:
        """Fields the summary line will carry."""
        self.fields.update({k: v for k, v in fields.items() if v is not None})

    def emit(self, level: int, message: str, **more: Json) -> None:
        """The invocation's summary line."""
        data = {**self.fields, **more, "elapsed_s": round(time.monotonic() - self.started, 3)}
        log.log(level, message, extra={"fields": data})

    def metric(self, name: Metric, instance: str | None, value: float = 1.0) -> None:
        """One embedded-metric-format line: `name` under the dimension `Function` (the
        function's name, for the template's alarms); the instance the event is about is a
        property of the line, and a dimension of `PER_PAIR` metrics only."""
        function = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "local")
        per_pair = name in PER_PAIR and instance
        dimensions = [["Instance"], ["Function"]] if per_pair else [["Function"]]
        data: JsonDict = {
            "_aws": {
                "Timestamp": int(time.time() * 1000),
                "CloudWatchMetrics": [
                    {
                        "Namespace": NAMESPACE,
                        "Dimensions": dimensions,
                        "Metrics": [{"Name": name, "Unit": _UNITS.get(name, "Count")}],
                    }
                ],
            },
            "Function": function,
            name: value,
        }
        if instance:
            data["Instance"] = instance
        if self.fields.get("correlation_id"):
            data["correlation_id"] = self.fields["correlation_id"]
        _write(json.dumps(data, sort_keys=True))
