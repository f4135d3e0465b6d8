"""One operation in progress: what every part of the executor shares, read-only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from .._core._deadline import Deadline
from .._core._errors import Interrupted
from .._core._result import Mode
from .._core._settings import Clock, Settings
from .._gateway import Gateway
from .._state._reads import Reader

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client


@dataclass
class Run:
    """One operation in progress: its mode, gateway, reads, settings and deadline."""

    operation: str
    mode: Mode
    gateway: Gateway
    reader: Reader
    settings: Settings
    deadline: Deadline
    #: The EC2 client its gateway calls (an evacuation runs each pair's failover on it).
    ec2: EC2Client
    #: When the state the plan was built from was read (monotonic and wall clock).
    read_at: float = 0.0
    read_at_wall: str = ""

    def __post_init__(self) -> None:
        self.clock: Clock = self.settings.the_clock()

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

    def final_reader(self) -> Reader:
        """Reads after a failure: allowed past the deadline, but bounded."""
        if not self.deadline.expired():
            return self.reader
        return Reader(self.gateway.past_deadline())
