"""The executor's one loop: it steps every chain of a plan, sends every EC2 call to the pool
and reads every wait, on the caller's thread.

A chain is a generator. It yields what it needs next and is resumed with the answer (or
has the error thrown in where it yielded); it asks through the typed helpers below (`call`,
`sleep`, `wait_for`, `beside`), each of which says what its answer is:

- `Call`: one EC2 call (or one read with its own retries) for the pool; the loop stops
  waiting for it at its bound and throws the call's `late` error into the chain instead;
- `Sleep`: a pause (a backoff before a change is sent again), cut short by a stop request;
- `Await`: waits for the resources a change touched to show it (`_poller`);
- `Together`: other generators stepped side by side (a check and the bookkeeping that
  rides beside it); answered with each one's `(value, error)` in order.

Between steps the loop sleeps until a call answers, a read falls due, a pause ends, a
bound passes, or a stop is asked for.
"""

from __future__ import annotations

import heapq
import itertools
from collections import deque
from collections.abc import Callable, Generator
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar, cast

from .._core import _threads
from .._plan._expect import Expectation, Seen
from .._state._views import Kind, ResourceId, State
from ._poller import Poller, Waiter, outcomes

if TYPE_CHECKING:
    from ._run import Run


@dataclass(frozen=True)
class Call:
    """One EC2 call for the pool."""

    fn: Callable[[], object]
    #: How long the loop waits for its answer.
    limit_s: float
    #: The error the chain hears when it has not answered by then.
    late: Callable[[], BaseException]
    #: A change: a wait's first read waits for its answer (`Poller.next_read`).
    counted: bool = False


@dataclass(frozen=True)
class Sleep:
    """A pause, cut short by a stop request."""

    seconds: float


@dataclass(frozen=True)
class Await:
    """Waits until each resource shows what its expectation says."""

    expects: tuple[Expectation, ...]
    not_before: float = 0.0


@dataclass(frozen=True)
class Together:
    """Generators stepped side by side; answered with each one's (value, error) in order."""

    steps: tuple[Steps[object], ...]


T = TypeVar("T")
R = TypeVar("R")
Need = Call | Sleep | Await | Together
#: What a chain, or a part of one, is: a generator of needs that returns a `T`. What the loop
#: sends back depends on the need; the helpers below give each its type.
Steps = Generator[Need, object, T]
Outcome = tuple[object, BaseException | None]


def call(
    fn: Callable[[], R],
    limit_s: float,
    late: Callable[[], BaseException],
    *,
    counted: bool = False,
) -> Steps[R]:
    """`fn` on the pool (see `Call`): what it returned, or its error raised here."""
    answer = yield Call(fn, limit_s, late, counted)
    return cast(R, answer)  # the loop sends back what `fn` returned


def sleep(seconds: float) -> Steps[None]:
    """A pause (see `Sleep`)."""
    yield Sleep(seconds)


def wait_for(
    expects: tuple[Expectation, ...], not_before: float = 0.0
) -> Steps[list[tuple[Seen, State | None]]]:
    """Until each resource shows its expectation (see `Await`): what was seen of each and its
    state, in order, or the first wait's error raised here."""
    found = yield Await(expects, not_before)
    return cast("list[tuple[Seen, State | None]]", found)  # the poller's `outcomes`


def beside(
    main: Steps[object], others: tuple[Steps[R], ...]
) -> Steps[tuple[BaseException | None, list[tuple[R | None, BaseException | None]]]]:
    """`main` and `others` stepped side by side (see `Together`): `main`'s error (None: it
    ended) and each other's (value, error), in order."""
    ended = cast("list[Outcome]", (yield Together((main, *others))))
    return ended[0][1], cast("list[tuple[R | None, BaseException | None]]", ended[1:])


class _Task:
    """A generator being stepped, and where its outcome goes."""

    def __init__(self, steps: Steps[object], parent: _Task | None, index: int) -> None:
        self.steps = steps
        self.parent = parent
        self.index = index
        self.children: list[Outcome] = []
        self.left = 0
        self.outcome: Outcome | None = None


class Loop:
    """Steps generators of one operation until every one has ended (see the module)."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.clock = run.clock
        self.waits = _Waits(run)
        self._ready: deque[tuple[_Task, object, BaseException | None]] = deque()
        self._calls: dict[Future[object], tuple[_Task, Call, float]] = {}
        self._sleeps: list[tuple[float, int, _Task]] = []
        self._order = itertools.count()
        self._in_flight = 0
        self._wake: Future[object] = Future()
        self._root = _Task(_together(()), None, 0)

    def run_all(self, *steps: Steps[object]) -> list[Outcome]:
        """Step `steps` side by side until all have ended; each one's (value, error)."""
        root = self._root = _Task(_together(steps), None, 0)
        self._ready.append((root, None, None))
        stop = self.run.settings.stop
        forget = stop.listen(self._woken) if stop is not None else None
        try:
            while root.outcome is None:
                self._turn()
        finally:
            if forget is not None:
                forget()
        value, error = root.outcome
        if error is not None:
            raise error
        return cast("list[Outcome]", value)  # the root's `_together`

    # -- one turn of the loop ------------------------------------------------------------

    def _turn(self) -> None:
        while self._ready:
            self._step(*self._ready.popleft())
        if self._root.outcome is not None:
            return
        if not (self._calls or self._sleeps or self.waits.pending):
            raise RuntimeError("the executor's loop has nothing to wait for: a chain is lost")
        run = self.run
        if run.stop_requested or run.deadline.expired():
            self._ready.extend(self.waits.release())
        now = self.clock.now()
        while self._sleeps and (run.stop_requested or self._sleeps[0][0] <= now):
            self._ready.append((heapq.heappop(self._sleeps)[2], None, None))
        self.waits.send_due(self._in_flight)
        if self._ready:
            return
        events = [now + 1.0, *(bound for _, _, bound in self._calls.values())]
        events.extend(self.waits.next_events(self._in_flight))
        if self._sleeps:
            events.append(self._sleeps[0][0])
        done, _ = wait(
            [*self._calls, *self.waits.futures, self._wake],
            timeout=max(0.0, min(events) - now),
            return_when=FIRST_COMPLETED,
        )
        for future in done:
            self._answered(future)
        self._give_up_late(self.clock.now())

    def _step(self, task: _Task, value: object, error: BaseException | None) -> None:
        try:
            need = task.steps.throw(error) if error is not None else task.steps.send(value)
        except StopIteration as end:
            self._end(task, (end.value, None))
            return
        except BaseException as err:  # the task's outcome: its parent decides
            self._end(task, (None, err))
            return
        self._start(task, need)

    def _start(self, task: _Task, need: Need) -> None:
        now = self.clock.now()
        if isinstance(need, Call):
            future = _threads.submit(need.fn)
            self._calls[future] = (task, need, now + need.limit_s)
            self._in_flight += need.counted
        elif isinstance(need, Sleep):
            heapq.heappush(self._sleeps, (now + need.seconds, next(self._order), task))
        elif isinstance(need, Await):
            self._ready.extend(self.waits.add(task, need))
        elif not need.steps:
            self._ready.append((task, [], None))
        else:
            task.children = [(None, None)] * len(need.steps)
            task.left = len(need.steps)
            for index, steps in enumerate(need.steps):
                self._ready.append((_Task(steps, task, index), None, None))

    def _end(self, task: _Task, outcome: Outcome) -> None:
        parent = task.parent
        if parent is None:
            task.outcome = outcome
            return
        parent.children[task.index] = outcome
        parent.left -= 1
        if not parent.left:
            self._ready.append((parent, list(parent.children), None))

    # -- what wakes the loop ---------------------------------------------------------------

    def _answered(self, future: Future[object]) -> None:
        if future is self._wake:
            self._wake = Future()
        elif future in self._calls:
            task, call, _ = self._calls.pop(future)
            self._in_flight -= call.counted
            error = future.exception()
            self._ready.append((task, None if error else future.result(), error))
        else:
            self._ready.extend(self.waits.answered(future))

    def _give_up_late(self, now: float) -> None:
        for future, (task, call, bound) in list(self._calls.items()):
            if now >= bound and not future.done():
                del self._calls[future]
                self._in_flight -= call.counted
                self._ready.append((task, None, call.late()))
        self._ready.extend(self.waits.give_up_late(now))

    def _woken(self) -> None:
        """A stop was asked for (a signal handler's thread)."""
        if not self._wake.done():
            self._wake.set_result(None)


Ready = list[tuple[_Task, object, BaseException | None]]


class _Waits:
    """The chains' `Await`s: the poller's schedule, its reads out on the pool, and which
    chain each wait resumes."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.poller = Poller(run)
        self._reads: dict[Future[object], tuple[list[Waiter], float]] = {}
        self._bound = 0.0
        self._awaits: dict[_Task, list[Waiter]] = {}

    @property
    def pending(self) -> bool:
        """True while a chain waits or a read is out."""
        return bool(self._awaits or self._reads)

    @property
    def futures(self) -> list[Future[object]]:
        """The reads out on the pool."""
        return list(self._reads)

    def add(self, task: _Task, need: Await) -> Ready:
        """Begin `task`'s waits (none: it goes on at once)."""
        if not need.expects:
            return [(task, [], None)]
        self._awaits[task] = self.poller.add(need.expects, need.not_before)
        return []

    def send_due(self, in_flight: int) -> None:
        """The reads that are due, one describe per kind, unless a batch is out already."""
        if self._reads:
            return
        at = self.poller.next_read(in_flight)
        started = self.run.clock.now()
        if at is None or at > started:
            return
        self._bound = started + self.run.deadline.remaining()
        for kind, waiters in self.poller.reads().items():
            self._reads[_threads.submit(_reading(self.poller, kind, waiters))] = (waiters, started)

    def next_events(self, in_flight: int) -> list[float]:
        """When the waits need the loop again: a read's bound, the next read, the deadline."""
        if self._reads:
            return [self._bound]
        at = self.poller.next_read(in_flight)
        if at is None:
            return []
        return [at, self.run.clock.now() + self.run.deadline.remaining()]

    def answered(self, future: Future[object]) -> Ready:
        """A read answered: judge the waits it was for."""
        waiters, started = self._reads.pop(future)
        error = future.exception()
        if error is not None:
            self.poller.fail(waiters, error)
        else:
            found = cast("dict[ResourceId, State]", future.result())  # what `_reading` reads
            self.poller.judge(waiters, found, started)
        return self._resumed()

    def give_up_late(self, now: float) -> Ready:
        """Reads past their bound: their waits hear so."""
        if not self._reads or now < self._bound:
            return []
        for future, (waiters, _) in list(self._reads.items()):
            if not future.done():
                del self._reads[future]
                self.poller.fail(waiters, self.run.gateway.unanswered("a read"))
        return self._resumed()

    def release(self) -> Ready:
        """A stop request or the deadline ends every wait."""
        if not self.poller.waiters:
            return []
        self.poller.release()
        return self._resumed()

    def _resumed(self) -> Ready:
        ready: Ready = []
        for task, waiters in list(self._awaits.items()):
            if all(w.over for w in waiters):
                del self._awaits[task]
                try:
                    ready.append((task, outcomes(waiters), None))
                except BaseException as err:  # the first wait's error, thrown into the chain
                    ready.append((task, None, err))
        return ready


def _together(steps: tuple[Steps[object], ...]) -> Steps[list[Outcome]]:
    outcomes_ = yield Together(steps)
    return cast("list[Outcome]", outcomes_)


def _reading(poller: Poller, kind: Kind, waiters: list[Waiter]) -> Callable[[], object]:
    return lambda: poller.read(kind, waiters)
