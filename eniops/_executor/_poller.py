"""The shared poller: every wait of an operation, verified together within a describe budget.

Each wait has its own schedule: its first read goes out as soon as it begins (the change it
verifies has just been answered), later ones after a delay that grows to a cap. When a read
falls due, every pending resource of that kind with a wait due (or nearly) is read in one
describe call; a kind with no wait due is not read. A token bucket keeps the operation's
describe rate within `RetryPolicy.poll_describes_per_s`, because EC2's describe budget is
shared by everything in the account. The poller is a schedule and nothing more: the
executor's loop asks it when the next read is due, sends the reads and hands back what
they found.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .._core._errors import Conflict, EniopsError
from .._core._settings import Clock, RetryPolicy
from .._plan._expect import Expectation, Seen
from .._state._views import Kind, ResourceId, State, Subject, view

if TYPE_CHECKING:
    from ._run import Run


@dataclass
class Waiter:
    """One wait: what it expects, when it is next read, and how it ended."""

    expect: Expectation
    due: float
    delay: float
    #: No "done" before this time (a confirmation read); a conflict may show earlier.
    not_before: float = 0.0
    #: Not read yet: its first read waits for the changes sent together with its own.
    fresh: bool = True
    over: bool = False
    seen: Seen | None = None
    state: State | None = None
    error: BaseException | None = None

    def finish(self, *, seen: Seen | None = None, error: BaseException | None = None) -> None:
        self.seen, self.error, self.over = seen, error, True


def outcomes(waiters: list[Waiter]) -> list[tuple[Seen, State | None]]:
    """Once every wait of a chain's `Await` has ended: what was seen of each and its
    resource's state, or the first one's error (in order)."""
    failed = next((w.error for w in waiters if w.error is not None), None)
    if failed is not None:
        raise failed
    return [(w.seen, w.state) for w in waiters if w.seen is not None]


def own(error: BaseException) -> BaseException:
    """A copy of an eniops error for one waiter (its details its own): one read's failure is
    raised in every chain that waited for it."""
    return error.copy() if isinstance(error, EniopsError) else error


class Poller:
    """The schedule of every wait of one operation (see the module); the executor's loop
    sends its reads and hands back what they found."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.policy = run.settings.policy
        self.clock = run.clock
        self.waiters: list[Waiter] = []
        self._budget = _Budget(self.policy, self.clock)
        #: Describe calls the poller made (tests and benchmarks read it).
        self.describes = 0

    def add(self, expects: tuple[Expectation, ...], not_before: float = 0.0) -> list[Waiter]:
        """Begin a wait for each of `expects`: the first reads go out at once, or no earlier
        than `not_before` (monotonic)."""
        due = max(self.clock.now(), not_before)
        first = self.policy.poll_first_s
        waiters = [Waiter(e, due=due, delay=first, not_before=not_before) for e in expects]
        self.waiters.extend(waiters)
        return waiters

    def next_read(self, in_flight: int) -> float | None:
        """When the next read may go out (monotonic); None when nothing waits. A wait not read
        yet waits for the `in_flight` changes sent together with its own (`_gathered`)."""
        if not self.waiters:
            return None
        due = min(w.due for w in self.waiters)
        kinds = _due_kinds(self.waiters, due)
        gathered = _gathered(self.waiters, in_flight, self.policy)
        return max(due, self._budget.ready_at(len(kinds)), gathered)

    def reads(self) -> dict[Kind, list[Waiter]]:
        """The reads due now, a describe per kind, with the waits each one answers; their
        cost is taken from the budget."""
        now = self.clock.now()
        waiters = self.waiters
        due = _due_kinds(waiters, now) or _due_kinds(waiters, min(w.due for w in waiters))
        wanted: dict[Kind, list[Waiter]] = {}
        for waiter in waiters:
            if waiter.expect.kind in due:
                wanted.setdefault(waiter.expect.kind, []).append(waiter)
        self._budget.spend(len(wanted))
        self.describes += len(wanted)
        return wanted

    def read(self, kind: Kind, waiters: list[Waiter]) -> dict[ResourceId, State]:
        """One describe of the resources `waiters` wait for (on the pool)."""
        ids = sorted({w.expect.resource for w in waiters}, key=str)
        return self.run.reader.current(kind, ids)

    def judge(
        self, waiters: list[Waiter], states: Mapping[ResourceId, State], started: float
    ) -> None:
        """What a read found, for the waits it answers: a wait over leaves the schedule."""
        finished = [w for w in waiters if self._judged(w, states, started)]
        _hurry_siblings(waiters, finished, started, self.policy.poll_first_s)
        self._forget(finished)

    def fail(self, waiters: list[Waiter], error: BaseException) -> None:
        """A read failed: every wait it was for hears of it, whatever it is."""
        for waiter in waiters:
            if not waiter.over:
                waiter.finish(error=own(error))
        self._forget(waiters)

    def release(self) -> list[Waiter]:
        """A stop request or the deadline ends every wait, each with its own error."""
        run = self.run
        waiters, self.waiters = self.waiters, []
        for waiter in waiters:
            if run.stop_requested:
                waiter.finish(error=run.interrupted(waiter.expect.doing()))
            else:
                waiter.finish(error=_timeout(run, waiter))
        return waiters

    def _forget(self, waiters: list[Waiter]) -> None:
        gone = {id(w) for w in waiters if w.over}
        self.waiters = [w for w in self.waiters if id(w) not in gone]

    def _judged(self, waiter: Waiter, states: Mapping[ResourceId, State], now: float) -> bool:
        if waiter.over:
            return True
        over = _judge(waiter, states, now, self.policy)
        if over:
            waiter.over = True
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


def _judge(
    waiter: Waiter, states: Mapping[ResourceId, State], now: float, policy: RetryPolicy
) -> bool:
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


def _gathered(waiters: list[Waiter], in_flight: int, policy: RetryPolicy) -> float:
    """When the first read of a fresh wait may go out: at once, unless changes sent
    together with its own are still in flight (then once they are answered, or after
    `poll_first_s` at most)."""
    fresh = [w.due for w in waiters if w.fresh]
    if not fresh or not in_flight:
        return 0.0
    return min(fresh) + policy.poll_first_s


def _timeout(run: Run, waiter: Waiter) -> BaseException:
    state = view(waiter.expect.subject, waiter.state)
    return run.deadline.timeout_error(
        waiter.expect.doing(), {"state": state} if state is not None else {}
    )


def _due_kinds(waiters: list[Waiter], at: float) -> set[Kind]:
    """The kinds of resource with a wait due at `at`, or nearly (within half its delay); a
    confirmation is not due before its `not_before`."""
    return {w.expect.kind for w in waiters if w.due <= at + w.delay / 2 and w.not_before <= at}


def _hurry_siblings(
    waiters: list[Waiter], finished: list[Waiter], started: float, first: float
) -> None:
    """Transitions started together end together: when some waits of a kind finished in a
    read, the others of that kind are read again after the first delay, not the cap."""
    done_kinds = {w.expect.kind for w in finished if w.error is None}
    for waiter in waiters:
        if waiter not in finished and waiter.expect.kind in done_kinds:
            waiter.delay = first
            waiter.due = max(min(waiter.due, started + first), waiter.not_before)


__all__ = ["Poller", "Subject"]
