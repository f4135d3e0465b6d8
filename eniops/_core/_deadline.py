"""One deadline over a whole operation: retries, polls and waits all draw from it."""

from __future__ import annotations

import time

from ._errors import OperationTimeout
from ._json import JsonObject


class Deadline:
    """A point in monotonic time after which the operation must give up."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self.started = time.monotonic()
        self.ends = self.started + timeout_s

    def remaining(self) -> float:
        """Seconds left, never negative."""
        return max(0.0, self.ends - time.monotonic())

    def elapsed(self) -> float:
        """Seconds since the operation started."""
        return time.monotonic() - self.started

    def expired(self) -> bool:
        """True once the deadline has passed."""
        return time.monotonic() >= self.ends

    def timeout_error(self, doing: str, details: JsonObject | None = None) -> OperationTimeout:
        """An `OperationTimeout` saying what was being done and where things stand."""
        return OperationTimeout(
            f"timed out after {self.timeout_s:g}s while {doing}",
            details={"timeout_s": self.timeout_s, "while": doing, **(details or {})},
        )
