"""One operation in progress: what every part of the executor shares, read-only."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from .. import _threads
from .._deadline import Deadline
from .._errors import Interrupted
from .._gateway import Gateway
from .._reads import Reader
from .._result import Mode
from .._settings import Clock, Settings

#: Changes in flight at once across a plan's chains: well inside EC2's mutating bucket.
MAX_CHANGES_IN_FLIGHT = 16


@dataclass
class Run:
    """One operation in progress: its mode, gateway, reads, settings and deadline."""

    operation: str
    mode: Mode
    gateway: Gateway
    reader: Reader
    settings: Settings
    deadline: Deadline
    #: When the state the plan was built from was read (monotonic and wall clock).
    read_at: float = 0.0
    read_at_wall: str = ""

    def __post_init__(self) -> None:
        self.clock: Clock = self.settings.the_clock()
        self.gate = threading.Semaphore(MAX_CHANGES_IN_FLIGHT)
        self.in_flight = InFlight()

    def mark_read(self) -> None:
        """Record that the state the plan is built from has just been read."""
        self.read_at = self.clock.now()
        self.read_at_wall = datetime.now(timezone.utc).isoformat(timespec="milliseconds")

    @property
    def stop_requested(self) -> bool:
        """True once a stop (signal) was asked for."""
        stop = self.settings.stop
        return stop is not None and stop.requested

    def interrupted(self, doing: str) -> Interrupted:
        """The error for a stop asked for while `doing`."""
        stop = self.settings.stop
        return Interrupted(
            f"interrupted while {doing}: no new change was started",
            signal=stop.signal if stop else None,
            details={"while": doing},
        )

    def at_once(self, *calls: Callable[[], Any]) -> list[Any]:
        """Run independent calls together (see `eniops._threads`)."""
        return _threads.at_once(*calls)

    def final_reader(self) -> Reader:
        """Reads after a failure: allowed past the deadline, but bounded."""
        if not self.deadline.expired():
            return self.reader
        return Reader(self.gateway.past_deadline())


class InFlight:
    """The changes sent whose check has not begun yet (eniops' bookkeeping tags aside): in
    flight, or answered and about to be waited for. A wait's first read goes out once the
    changes sent together with its own are answered and their waits registered, so that one
    read sees them all. The sender begins one; the poller ends it as it registers the
    change's waits (a change with nothing to wait for ends at once)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._count = 0
        self._listeners: list[Callable[[], None]] = []

    @property
    def count(self) -> int:
        """How many changes are in flight now."""
        return self._count

    def listen(self, listener: Callable[[], None]) -> None:
        """Call `listener` whenever a change is answered."""
        with self._lock:
            self._listeners.append(listener)

    def begin(self) -> None:
        """A change is sent."""
        with self._lock:
            self._count += 1

    def end(self, changes: int = 1) -> None:
        """`changes` are answered and their checks begun (or given up)."""
        if not changes:
            return
        with self._lock:
            self._count -= changes
            listeners = list(self._listeners)
        for listener in listeners:
            listener()
