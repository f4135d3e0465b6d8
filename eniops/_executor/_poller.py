"""The shared poller: every wait of an operation, verified together within a describe budget.

Each wait has its own schedule: its first read goes out as soon as it begins (the change it
verifies has just been answered), later ones after a delay that grows to a cap. When a read
falls due, every pending resource of that kind with a wait due (or nearly) is read in one
describe call; a kind with no wait due is not read. A token bucket keeps the operation's
describe rate within `RetryPolicy.poll_describes_per_s`, because EC2's describe budget is
shared by everything in the account. Between reads the poller's thread sleeps until the next
due wait, woken early only by a new wait, a stop request or the deadline.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .._errors import Conflict, EniopsError
from .._expect import Expectation, Seen
from .._settings import Clock, RetryPolicy
from .._views import Kind, ResourceId, Subject, view

if TYPE_CHECKING:
    from ._run import Run


@dataclass
class _Waiter:
    expect: Expectation
    due: float
    delay: float
    #: No "done" before this time (a confirmation read); a conflict may show earlier.
    not_before: float = 0.0
    done: threading.Event = field(default_factory=threading.Event)
    #: Not read yet: its first read waits for the changes sent together with its own.
    fresh: bool = True
    seen: Seen | None = None
    state: Any = None
    error: BaseException | None = None

    def finish(self, *, seen: Seen | None = None, error: BaseException | None = None) -> None:
        self.seen, self.error = seen, error
        self.done.set()


#: The poller's thread.
NAME = "eniops-poller"


def _outcomes(waiters: list[_Waiter]) -> list[tuple[Seen, Any]]:
    """Once every wait has ended: what was seen of each and its resource's state, or the
    first one's error (in order)."""
    for waiter in waiters:
        waiter.done.wait()
    failed = next((w.error for w in waiters if w.error is not None), None)
    if failed is not None:
        raise failed
    return [(w.seen, w.state) for w in waiters if w.seen is not None]


def _own(error: BaseException) -> BaseException:
    """A copy of an eniops error for one waiter (its details its own): errors are not shared
    between the threads that raise them."""
    return error.copy() if isinstance(error, EniopsError) else error


class Poller:
    """Waits of every chain of one operation, verified together (see the module)."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.policy = run.settings.policy
        self.clock = run.clock
        self._cond = threading.Condition()
        self._waiters: list[_Waiter] = []
        self._thread: threading.Thread | None = None
        self._budget = _Budget(self.policy, self.clock)
        run.in_flight.listen(self._wake)
        #: Describe calls the poller made (tests and benchmarks read it).
        self.describes = 0

    def wait(
        self, expects: tuple[Expectation, ...], not_before: float = 0.0, handed: int = 0
    ) -> list[tuple[Seen, Any]]:
        """Block until each of `expects` is done (`_outcomes`). The first reads go out at
        once, or no earlier than `not_before` (monotonic). The `handed` changes these waits
        check stop counting as in flight once the waits are registered: a read never goes
        out between a change's answer and its wait."""
        due = max(self.clock.now(), not_before)
        first = self.policy.poll_first_s
        waiters = [_Waiter(e, due=due, delay=first, not_before=not_before) for e in expects]
        with self._cond:
            self._waiters.extend(waiters)
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name=NAME, daemon=True)
                self._thread.start()
            self._cond.notify_all()
        self.run.in_flight.end(handed)
        return _outcomes(waiters)

    # -- the poller's thread --------------------------------------------------------------

    def _loop(self) -> None:
        stop = self.run.settings.stop
        forget = stop.listen(self._wake) if stop is not None else None
        try:
            while self._next():
                self._tick()
        finally:
            if forget is not None:
                forget()

    def _wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def _next(self) -> bool:
        """Sleep until a read falls due; False once no wait is left. A stop request or the
        deadline ends every wait instead."""
        run = self.run
        with self._cond:
            while True:
                if not self._waiters:
                    self._thread = None
                    return False
                if run.stop_requested:
                    self._release(lambda w: run.interrupted(w.expect.doing()))
                    continue
                if run.deadline.expired():
                    self._release(functools.partial(_timeout, run))
                    continue
                due = min(w.due for w in self._waiters)
                kinds = _due_kinds(self._waiters, due)
                gathered = _gathered(self._waiters, self.run.in_flight.count, self.policy)
                left = max(due, self._budget.ready_at(len(kinds)), gathered) - self.clock.now()
                if left <= 0:
                    return True
                self._cond.wait(min(left, run.deadline.remaining()))

    def _release(self, error: Any) -> None:
        """End every wait with its own error (the lock is held)."""
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            waiter.finish(error=error(waiter))

    def _tick(self) -> None:
        with self._cond:
            waiters = list(self._waiters)
        started = self.clock.now()
        due = _due_kinds(waiters, started) or _due_kinds(waiters, min(w.due for w in waiters))
        waiters = [w for w in waiters if w.expect.kind in due]
        wanted: dict[Kind, set[ResourceId]] = {}
        for waiter in waiters:
            wanted.setdefault(waiter.expect.kind, set()).add(waiter.expect.resource)
        with self._cond:
            self._budget.spend(len(wanted))
        reader = self.run.reader
        kinds = sorted(wanted)
        try:
            results = self.run.at_once(
                *(lambda k=k: reader.current(k, sorted(wanted[k], key=str)) for k in kinds)
            )
        except BaseException as failure:  # every waiter hears of it, whatever it is
            with self._cond:
                self._waiters = [w for w in self._waiters if w not in waiters]
            for waiter in waiters:
                waiter.finish(error=_own(failure))
            return
        self.describes += len(kinds)
        states = dict(zip(kinds, results, strict=True))
        finished = [w for w in waiters if self._judged(w, states[w.expect.kind], started)]
        _hurry_siblings(waiters, finished, started, self.policy.poll_first_s)
        with self._cond:
            self._waiters = [w for w in self._waiters if w not in finished]
        for waiter in finished:
            waiter.done.set()

    def _judged(self, waiter: _Waiter, states: dict[Any, Any], now: float) -> bool:
        over = _judge(waiter, states, now, self.policy)
        progress = self.run.settings.progress
        if not over and progress is not None:
            progress(waiter.expect.doing(), self.run.deadline.elapsed())
        return over


class _Budget:
    """A token bucket: the poller's describes within `RetryPolicy.poll_describes_per_s`,
    with a burst of `poll_burst` (the lock of the poller is held around it)."""

    def __init__(self, policy: RetryPolicy, clock: Clock) -> None:
        self.policy = policy
        self.clock = clock
        self._tokens = policy.poll_burst
        self._refilled = clock.now()

    def ready_at(self, cost: int) -> float:
        """When the bucket will hold `cost` tokens."""
        self._refill()
        missing = cost - self._tokens
        return self.clock.now() + max(0.0, missing / self.policy.poll_describes_per_s)

    def spend(self, cost: int) -> None:
        """Take `cost` tokens (the bucket may go below zero: the next read waits longer)."""
        self._refill()
        self._tokens -= cost

    def _refill(self) -> None:
        now = self.clock.now()
        rate = self.policy.poll_describes_per_s
        self._tokens = min(self.policy.poll_burst, self._tokens + (now - self._refilled) * rate)
        self._refilled = now


def _judge(waiter: _Waiter, states: dict[Any, Any], now: float, policy: RetryPolicy) -> bool:
    """Judge one wait by what was read; True when it is over (done, or a conflict)."""
    waiter.fresh = False
    waiter.state = states.get(waiter.expect.resource)
    try:
        seen = waiter.expect.observe(waiter.state)
    except Conflict as conflict:
        waiter.error = conflict
        return True
    if seen.progress == "done" and now >= waiter.not_before:
        waiter.seen = seen
        return True
    if waiter.due <= now + waiter.delay:
        # Due within its own delay: this read counts as its poll, so that waits of one kind
        # begun moments apart share their reads instead of each calling on its own.
        waiter.delay = min(policy.poll_cap_s, waiter.delay * policy.poll_growth)
        waiter.due = max(now + waiter.delay, waiter.not_before)
    return False


def _gathered(waiters: list[_Waiter], in_flight: int, policy: RetryPolicy) -> float:
    """When the first read of a fresh wait may go out: at once, unless changes sent
    together with its own are still in flight (then once they are answered, or after
    `poll_first_s` at most)."""
    fresh = [w.due for w in waiters if w.fresh]
    if not fresh or not in_flight:
        return 0.0
    return min(fresh) + policy.poll_first_s


def _timeout(run: Run, waiter: _Waiter) -> BaseException:
    state = view(waiter.expect.subject, waiter.state)
    return run.deadline.timeout_error(
        waiter.expect.doing(), {"state": state} if state is not None else {}
    )


def _due_kinds(waiters: list[_Waiter], at: float) -> set[Kind]:
    """The kinds of resource with a wait due at `at`, or nearly (within half its delay); a
    confirmation is not due before its `not_before`."""
    return {w.expect.kind for w in waiters if w.due <= at + w.delay / 2 and w.not_before <= at}


def _hurry_siblings(
    waiters: list[_Waiter], finished: list[_Waiter], started: float, first: float
) -> None:
    """Transitions started together end together: when some waits of a kind finished in a
    read, the others of that kind are read again after the first delay, not the cap."""
    done_kinds = {w.expect.kind for w in finished if w.error is None}
    for waiter in waiters:
        if waiter not in finished and waiter.expect.kind in done_kinds:
            waiter.delay = first
            waiter.due = max(min(waiter.due, started + first), waiter.not_before)


__all__ = ["Poller", "Subject"]
