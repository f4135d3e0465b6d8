"""How the gateway's calls are logged: each attempt at DEBUG (what it named, its attempt, its
round trip and request id), each retry at INFO (what was answered, the wait). Nothing is
built when the level is not logged; no field holds a credential or a token."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from .._core._log import logger, named, said
from . import _retries
from ._translate import error_code

_LOG = logger("eniops.gateway")


def call_said(
    name: str,
    operation: str,
    params: Mapping[str, object],
    *,
    attempt: int,
    started: float,
    got: Any,
) -> None:
    """One attempt at a call of operation `name`, answered with `got` (or failed with it)."""
    if not _LOG.isEnabledFor(logging.DEBUG):
        return
    ms = round((time.monotonic() - started) * 1000, 1)
    failed = isinstance(got, BaseException)
    answer: Any = getattr(got, "response", None) if failed else got
    meta = (answer.get("ResponseMetadata") or {}) if isinstance(answer, dict) else {}
    code = error_code(got) if failed else None
    _LOG.debug(
        "%s: %s in %.0f ms (attempt %d, request %s)",
        said(operation, params),
        code or "answered",
        ms,
        attempt,
        meta.get("RequestId") or "-",
        extra={
            "fields": {
                "operation": name,
                "action": operation,
                "resources": named(params),
                "attempt": attempt,
                "round_trip_ms": ms,
                "request_id": meta.get("RequestId"),
                **({"code": code} if code else {}),
                **({"dry_run": True} if params.get("DryRun") else {}),
            }
        },
    )


def retries_said(name: str, operation: str, params: Mapping[str, object]) -> Any:
    """tenacity's `before_sleep` for a call of operation `name`: None when INFO is not logged."""
    if not _LOG.isEnabledFor(logging.INFO):
        return None
    return _retries.retry_said(said(operation, params), name)
