"""How an operation retries, polls and reports, in one explicit object.

`Settings` is read once when an operation starts (from `use_settings`, a context manager for
tests and adapters) and then handed to everything the operation runs, worker threads
included: a `ContextVar` alone does not reach a `ThreadPoolExecutor`'s workers.
"""

from __future__ import annotations

import contextvars
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, TypedDict

if TYPE_CHECKING:
    from typing_extensions import Unpack


@dataclass(frozen=True)
class RetryPolicy:
    """How the gateway retries and the executor polls. Tests may shrink the waits."""

    #: Throttling, 5xx and network errors: full-jitter exponential backoff (seconds).
    backoff_first_s: float = 0.1
    backoff_cap_s: float = 2.0
    #: A first read answering NotFound (EC2's eventual consistency) is re-read for this long.
    not_found_window_s: float = 0.6
    not_found_first_s: float = 0.05
    not_found_cap_s: float = 0.2
    #: Waits for a transition: first delay, growth and cap. A wait ends within the cap (plus
    #: one call) of EC2 showing the transition.
    poll_first_s: float = 0.1
    poll_growth: float = 2.0
    poll_cap_s: float = 0.4
    #: Describe calls the shared poller may make per second on average (EC2's describe
    #: budget, about 20 per second, is shared by everything in the account), and its burst.
    poll_describes_per_s: float = 3.0
    poll_burst: float = 6.0
    #: After an ambiguous error on a change: how many re-reads, and the pause between them.
    settle_reads: int = 3
    settle_pause_s: float = 0.2
    #: A guarded change EC2 cannot compare-and-swap (`AssociateAddress`, reassigning an IP)
    #: is read again this long after its answer: a competing write sent meanwhile by another
    #: process, which read before ours landed, is then seen and reported as a `Conflict`.
    confirm_after_s: float = 0.3
    #: The final read of where everything is, allowed past the deadline, is bounded by this.
    final_read_s: float = 3.0
    #: The longest a single call may run past the deadline once started (it is abandoned then).
    in_flight_s: float = 10.0


DEFAULT_POLICY = RetryPolicy()


class StopRequest:
    """Set by a signal handler: start no new change, finish the call in flight, report.

    Everything that sleeps or waits for an operation wakes when a stop is asked for.
    """

    def __init__(self) -> None:
        self.signal: int | None = None
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._listeners: list[Callable[[], None]] = []

    def request(self, signum: int = signal.SIGINT) -> None:
        """Ask the running operation to stop (the first request's signal is kept)."""
        if self.signal is None:
            self.signal = signum
        self._event.set()
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            listener()

    @property
    def requested(self) -> bool:
        """True once a stop was asked for."""
        return self.signal is not None

    @property
    def event(self) -> threading.Event:
        """Set once a stop was asked for."""
        return self._event

    def listen(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call `listener` when a stop is asked for; returns what stops listening."""
        with self._lock:
            self._listeners.append(listener)

        def forget() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return forget

    def wait(self, seconds: float) -> bool:
        """Sleep up to `seconds`; True when cut short by a stop request."""
        return self._event.wait(max(0.0, seconds))


class Clock:
    """Time as an operation sees it: every sleep of eniops goes through `sleep`, which a
    stop request cuts short. Tests inject their own (a clock that records, or never sleeps)."""

    def __init__(self, stop: StopRequest | None = None) -> None:
        self.stop = stop

    def now(self) -> float:
        """Monotonic seconds."""
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        """Sleep `seconds`, or less when a stop is asked for."""
        if self.stop is not None:
            self.stop.wait(seconds)
        elif seconds > 0:
            time.sleep(seconds)


@dataclass(frozen=True)
class Settings:
    """Everything an operation needs besides its arguments."""

    policy: RetryPolicy = DEFAULT_POLICY
    #: Called with (what is being waited for, seconds elapsed) while waiting.
    progress: Callable[[str, float], None] | None = None
    #: Set by the command line's signal handlers.
    stop: StopRequest | None = None
    #: How the operation sleeps (None: a clock of its own, woken by `stop`).
    clock: Clock | None = None

    def the_clock(self) -> Clock:
        """The clock the operation sleeps by."""
        return self.clock if self.clock is not None else Clock(self.stop)


DEFAULT_SETTINGS = Settings()
_current: contextvars.ContextVar[Settings] = contextvars.ContextVar("eniops_settings")


def current() -> Settings:
    """The settings an operation starting now uses."""
    return _current.get(DEFAULT_SETTINGS)


class SettingsChanges(TypedDict, total=False):
    """The fields of `Settings` a `use_settings` block sets (the others stay as they are)."""

    policy: RetryPolicy
    progress: Callable[[str, float], None] | None
    stop: StopRequest | None
    clock: Clock | None


@contextmanager
def use_settings(**changes: Unpack[SettingsChanges]) -> Iterator[Settings]:
    """Operations started inside the block use these settings (fields of `Settings`)."""
    settings = replace(current(), **changes)
    token = _current.set(settings)
    try:
        yield settings
    finally:
        _current.reset(token)
