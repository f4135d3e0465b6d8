"""The one executor: runs a `Plan` under a mode and says exactly what happened.

- `plan` records every change as planned and calls nothing.
- `dry-run` sends each change that EC2 accepts `DryRun` for with `DryRun=True`.
- `apply` runs the plan's chains at once. In a chain, each change is sent (never after the
  deadline, never after a stop was asked for), then verified by the shared `Poller`, which
  reads every pending resource of a kind in one describe call per tick, within a describe
  budget. After an error on a change the real state is re-read before anything is
  decided: a change that is in place is done, with a warning. A later failure undoes the
  chain's earlier changes (unless the chain's goal was already reached). A third party
  moving the resource during a wait is a `Conflict` at once.

Errors carry where every resource of the plan is (`details["resources"]`), read once more
after the failure, past the deadline if need be but bounded.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from ._deadline import Deadline
from ._errors import (
    Conflict,
    EniopsError,
    Interrupted,
    OperationTimeout,
    PartialFailure,
    PermissionDenied,
)
from ._gateway import Gateway, error_code, is_refusal, is_throttling
from ._model import HOLDER_TAG, MOVE_TAG
from ._plan import Chain, Change, Expectation, Plan, Ref, Seen, Subject, Wait
from ._reads import Reader
from ._result import Mode, Result, Step, StepStatus
from ._settings import Settings

log = logging.getLogger("eniops")

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
    warnings: list[str] = field(default_factory=list)

    def mark_read(self) -> None:
        """Record that the state the plan is built from has just been read."""
        self.read_at = time.monotonic()
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


def _resolve(value: Any, facts: Mapping[str, Any]) -> Any:
    if isinstance(value, Ref):
        return facts[value.fact]
    if isinstance(value, Mapping):
        return {k: _resolve(v, facts) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_resolve(v, facts) for v in value]
    return value


def _has_ref(value: Any) -> bool:
    if isinstance(value, Ref):
        return True
    if isinstance(value, Mapping):
        return any(_has_ref(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_has_ref(v) for v in value)
    return False


def _shown(value: Any) -> Any:
    """Parameters as results show them: a `Ref` as its description."""
    if isinstance(value, Ref):
        return str(value)
    if isinstance(value, Mapping):
        return {k: _shown(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_shown(v) for v in value]
    return value


# -- the shared poller -------------------------------------------------------------------


@dataclass
class _Waiter:
    expect: Expectation
    due: float
    delay: float
    started: float
    #: No "done" before this time (a confirmation read); a conflict may show earlier.
    not_before: float = 0.0
    done: threading.Event = field(default_factory=threading.Event)
    seen: Seen | None = None
    state: Any = None
    error: BaseException | None = None


class Poller:
    """Waits of every chain, verified together: one describe per kind of resource per tick.

    Each wait has its own schedule (a short first delay, growing to a cap); a tick reads
    every pending resource of each kind with a wait due (or nearly due) and spends one token
    per kind read from a bucket that keeps the operation's describe rate within
    `RetryPolicy.poll_describes_per_s`. A kind with no wait due is not read.
    """

    def __init__(self, run: Run) -> None:
        self.run = run
        self.policy = run.settings.policy
        self._lock = threading.Condition()
        self._waiters: list[_Waiter] = []
        self._thread: threading.Thread | None = None
        self._tokens = self.policy.poll_burst
        self._refilled = time.monotonic()
        #: A wait was added since the poller chose when to read next (it may be due sooner).
        self._added = False
        #: Describe calls the poller made (tests and benchmarks read it).
        self.describes = 0

    def wait(self, expect: Expectation, not_before: float = 0.0) -> tuple[Seen, Any]:
        """Block until `expect` is done; return what was seen and the resource's state.

        The first read is made no earlier than `not_before` (a monotonic time)."""
        now = time.monotonic()
        first = self.policy.poll_first_s
        waiter = _Waiter(
            expect,
            due=max(now + first, not_before),
            delay=first,
            started=now,
            not_before=not_before,
        )
        with self._lock:
            self._waiters.append(waiter)
            self._added = True
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._loop, name="eniops-poller", daemon=True
                )
                self._thread.start()
            self._lock.notify_all()
        waiter.done.wait()
        if waiter.error is not None:
            raise waiter.error
        assert waiter.seen is not None
        return waiter.seen, waiter.state

    def _loop(self) -> None:
        while True:
            with self._lock:
                if not self._waiters:
                    self._thread = None
                    return
                due = min(w.due for w in self._waiters)
                kinds = _due_kinds(self._waiters, due)
                self._added = False
            if self._pause_until(max(due, self._token_time(len(kinds)))):
                self._tick()

    def _token_time(self, cost: int) -> float:
        """When the bucket will hold `cost` tokens."""
        self._refill()
        missing = cost - self._tokens
        return time.monotonic() + max(0.0, missing / self.policy.poll_describes_per_s)

    def _refill(self) -> None:
        now = time.monotonic()
        rate = self.policy.poll_describes_per_s
        self._tokens = min(self.policy.poll_burst, self._tokens + (now - self._refilled) * rate)
        self._refilled = now

    def _pause_until(self, when: float) -> bool:
        """Sleep until `when`: True to read then (or, after releasing every waiter, on a stop
        or the deadline); False when a new wait arrived first, to choose again."""
        run = self.run
        while True:
            if run.stop_requested:
                self._release_all(lambda w: run.interrupted(w.expect.doing()))
                return True
            if run.deadline.expired():
                self._release_all(self._timeout)
                return True
            left = when - time.monotonic()
            if left <= 0:
                return True
            with self._lock:
                if not self._added:
                    self._lock.wait(min(left, 0.05, max(0.0, run.deadline.remaining())))
                if self._added:
                    self._added = False
                    return False

    def _timeout(self, waiter: _Waiter) -> OperationTimeout:
        state = _summary(waiter.state)
        return self.run.deadline.timeout_error(
            waiter.expect.doing(), {"state": state} if state is not None else {}
        )

    def _release_all(self, error: Callable[[_Waiter], BaseException]) -> None:
        with self._lock:
            waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            waiter.error = error(waiter)
            waiter.done.set()

    def _tick(self) -> None:
        with self._lock:
            waiters = list(self._waiters)
        if not waiters:
            return
        tick_started = time.monotonic()
        due = _due_kinds(waiters, tick_started)
        # Woken by a stop, the deadline or an early notify: read what falls due first.
        due = due or _due_kinds(waiters, min(w.due for w in waiters))
        waiters = [w for w in waiters if w.expect.kind in due]
        by_kind: dict[str, set[str]] = {}
        for waiter in waiters:
            by_kind.setdefault(waiter.expect.kind, set()).add(waiter.expect.resource)
        self._refill()
        self._tokens -= len(by_kind)
        reader = self.run.reader
        kinds = sorted(by_kind)
        try:
            results = reader.at_once(
                *(lambda k=k: reader.current(k, sorted(by_kind[k])) for k in kinds)
            )
        except BaseException as err:  # every waiter must hear of it, whatever it is
            failure = err  # the name `err` is unbound once the except block ends
            self._release_all(lambda _w: failure)
            return
        self.describes += len(kinds)
        states = dict(zip(kinds, results, strict=True))
        now = tick_started
        finished: list[_Waiter] = []
        for waiter in waiters:
            waiter.state = states[waiter.expect.kind].get(waiter.expect.resource)
            try:
                seen = waiter.expect.observe(waiter.state)
            except Conflict as conflict:
                waiter.error = conflict
                finished.append(waiter)
                continue
            if seen.progress == "done" and now >= waiter.not_before:
                waiter.seen = seen
                finished.append(waiter)
            elif waiter.due <= now + waiter.delay:
                # Due within its own delay: this read counts as its poll, so that waits of
                # one kind begun moments apart share their ticks instead of each calling
                # on its own a few milliseconds after the others.
                waiter.delay = min(self.policy.poll_cap_s, waiter.delay * self.policy.poll_growth)
                waiter.due = max(now + waiter.delay, waiter.not_before)
                progress = self.run.settings.progress
                if progress is not None:
                    progress(waiter.expect.doing(), self.run.deadline.elapsed())
        self._hurry_siblings(waiters, finished, tick_started)
        with self._lock:
            self._waiters = [w for w in self._waiters if w not in finished]
        for waiter in finished:
            waiter.done.set()

    def _hurry_siblings(
        self, waiters: list[_Waiter], finished: list[_Waiter], tick_started: float
    ) -> None:
        """Transitions started together end together: when some waits of a kind finished in
        this tick, the others of that kind are read again after the first delay, not the cap."""
        done_kinds = {w.expect.kind for w in finished if w.error is None}
        first = self.policy.poll_first_s
        for waiter in waiters:
            if waiter not in finished and waiter.expect.kind in done_kinds:
                waiter.delay = first
                waiter.due = max(min(waiter.due, tick_started + first), waiter.not_before)


def _due_kinds(waiters: list[_Waiter], at: float) -> set[str]:
    """The kinds of resource with a wait due at `at`, or nearly (within half its delay); a
    confirmation is not due before its `not_before`."""
    return {w.expect.kind for w in waiters if w.due <= at + w.delay / 2 and w.not_before <= at}


def _summary(state: Any) -> Any:
    if state is None:
        return None
    summary = getattr(state, "summary", None)
    if summary is None:
        return str(state)
    try:
        return summary()
    except TypeError:  # a route table's summary needs a destination
        return {"id": getattr(state, "route_table_id", None)}


# -- one chain ---------------------------------------------------------------------------

#: A guard read older than this is read again before a throttled change is sent again.
GUARD_FRESH_S = 0.5


class _InPlace(Exception):
    """Raised before a retry: the read shows the change in place, so it is not sent again."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


class ChainRun:
    """A chain being applied: its steps, what it has done, how it ended."""

    def __init__(self, chain: Chain, run: Run, poller: Poller, gate: threading.Semaphore) -> None:
        self.chain = chain
        self.run = run
        self.poller = poller
        self.gate = gate
        self.steps: list[Step] = []
        self.warnings: list[str] = list(chain.warnings)
        self.facts: dict[str, Any] = {}
        self.last: dict[Subject, Any] = {}
        self.done: list[tuple[int, Change]] = []
        self.error: EniopsError | None = None
        self.undo_error: EniopsError | None = None
        #: Anything else that ended the chain's thread: a defect or the process being
        #: killed. It is raised again once every chain has stopped; nothing is undone.
        self.crash: BaseException | None = None
        #: A change that matters (not bookkeeping) was made at some point.
        self.made_changes = False
        self.rolled_back = False
        self.reached_goal = False

    @property
    def changed(self) -> bool:
        """True when a change that matters was made and is still in place."""
        return self.made_changes and not self.rolled_back

    def __call__(self) -> None:
        try:
            for item in self.chain.items:
                if isinstance(item, Wait):
                    self._wait(item.expect)
                else:
                    self._apply(item)
            self.reached_goal = True
        except EniopsError as err:
            self.error = err
            self.reached_goal = any(c.final for _, c in self.done)
            self._recover(err)
        except BaseException as crash:  # raised again once every chain has stopped
            self.crash = crash

    # -- doing ----------------------------------------------------------------------------

    def _wait(self, expect: Expectation, not_before: float = 0.0) -> Seen:
        seen, state = self.poller.wait(expect, not_before)
        self.last[expect.subject] = state
        self.facts.update(seen.facts)
        return seen

    def _already(self, change: Change) -> bool:
        """True when the last state seen shows the change in place (a concurrent run did it)."""
        expect = change.expect
        if expect is None or expect.subject not in self.last:
            return False
        seen = expect.observe(self.last[expect.subject])
        if seen.progress == "absent":
            return False
        self.facts.update(seen.facts)
        return True

    def _apply(self, change: Change) -> None:
        if self._already(change):
            self._record(change, change.params, "skipped", "already in place")
            if change.expect is not None:
                self._wait(change.expect)
        else:
            self._send(change)
        self.done.append((len(self.steps) - 1, change))
        if not change.bookkeeping:
            self.made_changes = True

    def _send(self, change: Change) -> None:
        """Send one change (never after the deadline or a stop), then verify it."""
        run = self.run
        if run.stop_requested:
            raise run.interrupted(f"about to call {change.action}")
        if run.deadline.expired():
            raise run.deadline.timeout_error(
                f"about to call {change.action}: no change starts after the deadline",
                {"operation": change.action, "sent": False},
            )
        params = _resolve(change.params, self.facts)
        note = change.note
        with self.gate:
            try:
                run.gateway.call(
                    change.action, params, change=True, before_retry=self._before_retry(change)
                )
            except _InPlace as in_place:
                note = _join(
                    note, f"EC2 answered {_code(in_place.error)} but the change is in place"
                )
                self.warnings.append(f"{change.action}: {note}")
            except EniopsError as err:
                if not self._settled(change, err):
                    self._record(change, params, "failed", _join(note, err.message))
                    raise
                note = _join(note, f"EC2 answered {_code(err)} but the change is in place")
                self.warnings.append(f"{change.action}: {note}")
        answered = time.monotonic()
        self._record(change, params, "done", note)
        log.info("%s: %s done", self.chain.name, change.action)
        if change.expect is not None and change.verify and not change.confirm:
            self._wait(change.expect)
        # Without compare-and-swap, the confirmation read is the verification: one read,
        # late enough to see a competing write.
        confirm_at = answered + run.settings.policy.confirm_after_s
        for expect in change.confirm:
            self._wait(expect, not_before=confirm_at)

    def _before_retry(self, change: Change) -> Callable[[BaseException], None] | None:
        """The read before a change is sent again.

        After an answer that leaves open whether the change was carried out (5xx, network,
        no answer), read the resource: in place means stop (`_InPlace`). After throttling
        (refused for its rate, so not carried out) only a guard is re-checked, and only when
        its read is older than `GUARD_FRESH_S`: the read stays close to the write.
        """
        if change.expect is None and change.guard is None:
            return None
        last_read = [self.run.read_at]

        def recheck(error: BaseException) -> None:
            if is_throttling(error) and (
                change.guard is None or time.monotonic() - last_read[0] < GUARD_FRESH_S
            ):
                return
            subjects = {e.subject for e in (change.expect, change.guard) if e is not None}
            for kind, resource in sorted(subjects):
                state = self.run.reader.current(kind, [resource]).get(resource)
                last_read[0] = time.monotonic()
                self.last[(kind, resource)] = state
                if change.expect is not None and change.expect.subject == (kind, resource):
                    seen = change.expect.observe(state)  # a Conflict stops here
                    if seen.progress != "absent" and not is_throttling(error):
                        self.facts.update(seen.facts)
                        raise _InPlace(error)
                if change.guard is not None and change.guard.subject == (kind, resource):
                    change.guard.observe(state)  # a Conflict stops here

        return recheck

    def _settled(self, change: Change, err: EniopsError) -> bool:
        """After an error: is the change in place after all? Re-read before deciding."""
        expect = change.expect
        if expect is None or isinstance(err, PermissionDenied):
            return False
        clear = is_refusal(err) and int(err.details.get("attempts", 1)) <= 1
        policy = self.run.settings.policy
        reads = 1 if clear else policy.settle_reads
        gateway = self.run.gateway
        if gateway.deadline.expired():
            gateway = gateway.past_deadline()
        reader = Reader(gateway)
        for attempt in range(reads):
            if attempt:
                time.sleep(policy.settle_pause_s)
            try:
                state = reader.current(expect.kind, [expect.resource]).get(expect.resource)
            except EniopsError:
                return False
            self.last[expect.subject] = state
            seen = expect.observe(state)  # a Conflict here says who holds it now
            if seen.progress != "absent":
                self.facts.update(seen.facts)
                return True
        return False

    def _record(self, change: Change, params: Any, status: StepStatus, note: str) -> None:
        self.steps.append(Step(f"ec2:{change.action}", _shown(params), status, note))

    # -- undoing --------------------------------------------------------------------------

    def _recover(self, err: EniopsError) -> None:
        """After a failure: undo what the chain did, unless that is not ours to do."""
        if not self.done:
            self.rolled_back = True
            return
        if (
            self.reached_goal
            or not self.chain.rollback
            or isinstance(err, (Conflict, Interrupted, OperationTimeout))
        ):
            return
        self.rolled_back = self.undo()

    def undo(self) -> bool:
        """Put back every change done, newest first; False when one could not be."""
        if self.run.deadline.expired() or self.run.stop_requested:
            return False
        while self.done:
            index, change = self.done[-1]
            try:
                for undo in change.undo:
                    self._send(undo)
            except EniopsError as undo_err:
                self.warnings.append(f"putting back {change.action} failed: {undo_err.message}")
                self.undo_error = undo_err
                return False
            self.done.pop()
            step = self.steps[index]
            self.steps[index] = Step(step.action, step.params, "rolled-back", step.note)
        self.rolled_back = True
        return True


def _code(err: BaseException) -> str:
    if isinstance(err, EniopsError):
        return str(getattr(err, "code", None) or err.details.get("code") or type(err).__name__)
    return error_code(err)


def _join(first: str, second: str) -> str:
    return f"{first}; {second}" if first else second


# -- the executor ------------------------------------------------------------------------


def execute(plan: Plan, run: Run) -> Result:
    """Run `plan` under `run.mode`; return its Result or raise what went wrong."""
    if plan.empty:
        return _result(plan, run, changed=False, steps=(), warnings=plan.warnings)
    if run.mode == "plan":
        steps = [
            Step(f"ec2:{c.action}", _shown(c.params), "planned", c.note)
            for chain in plan.chains
            for c in chain.changes
        ]
        return _planned(plan, run, steps, [])
    if run.mode == "dry-run":
        return _dry_run(plan, run)
    return _apply(plan, run)


def _planned(plan: Plan, run: Run, steps: list[Step], notes: list[str]) -> Result:
    warnings = [*plan.warnings, *(w for chain in plan.chains for w in chain.warnings), *notes]
    if not plan.composite:
        return _result(plan, run, changed=False, steps=tuple(steps), warnings=tuple(warnings))
    children, offset = [], 0
    for chain in plan.chains:
        count = len(chain.changes)
        children.append(
            Result(
                operation=chain.operation,
                mode=run.mode,
                changed=False,
                steps=tuple(steps[offset : offset + count]),
                before=dict(chain.before),
                after=dict(chain.after),
                warnings=chain.warnings,
            )
        )
        offset += count
    return _result(
        plan,
        run,
        changed=False,
        steps=(),
        warnings=(*plan.warnings, *notes),
        children=tuple(children),
    )


def _dry_run(plan: Plan, run: Run) -> Result:
    steps: list[Step] = []
    notes: list[str] = []
    for chain in plan.chains:
        for change in chain.changes:
            if not change.dry_run:
                notes.append(
                    f"EC2 offers no DryRun for {change.action}: planned only, not checked by EC2"
                )
                note = "no DryRun in EC2"
            elif _has_ref(change.params):
                note = "depends on an earlier change: not checked by EC2 before it"
            else:
                run.gateway.dry_run(change.action, change.params)
                note = "DryRun passed"
            steps.append(Step(f"ec2:{change.action}", _shown(change.params), "planned", note))
    for value, subjects in _holder_tags(plan.chains).items():
        action, params = _holder_call(subjects, value)
        try:
            run.gateway.dry_run(action, params)
        except PermissionDenied:
            notes.append(
                f"the {HOLDER_TAG} tag would be refused (IAM): changes would succeed without it"
            )
    return _planned(plan, run, steps, notes)


def _apply(plan: Plan, run: Run) -> Result:
    poller = Poller(run)
    gate = threading.Semaphore(MAX_CHANGES_IN_FLIGHT)
    runs = [ChainRun(chain, run, poller, gate) for chain in plan.chains]
    if len(runs) == 1:
        runs[0]()
    else:
        threads = [
            threading.Thread(target=chain_run, name=f"eniops-{i}", daemon=True)
            for i, chain_run in enumerate(runs)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    crash = next((r.crash for r in runs if r.crash is not None), None)
    if crash is not None:
        raise crash
    failed = [r for r in runs if r.error is not None]
    if failed and plan.atomic:
        for chain_run in runs:
            if chain_run.error is None and chain_run.done:
                chain_run.rolled_back = chain_run.undo()
    final_steps, final_warnings = _finish(runs, run)
    if failed:
        raise _failure(plan, run, runs, failed, final_steps)
    return _applied(plan, run, runs, final_steps, final_warnings)


def _holder_tags(chains: Iterable[Chain]) -> dict[str | None, list[Subject]]:
    """Resources to tag `eniops:holder`, by the tag's value (None: the tag is removed)."""
    holders: dict[str | None, list[Subject]] = {}
    for chain in chains:
        for subject, value in chain.holders:
            holders.setdefault(value, []).append(subject)
    return holders


def _holder_call(subjects: list[Subject], value: str | None) -> tuple[str, dict[str, Any]]:
    resources = sorted({resource for _, resource in subjects})
    if value is None:
        return "DeleteTags", {"Resources": resources, "Tags": [{"Key": HOLDER_TAG}]}
    return "CreateTags", {"Resources": resources, "Tags": [{"Key": HOLDER_TAG, "Value": value}]}


def _finish(runs: list[ChainRun], run: Run) -> tuple[list[Step], list[str]]:
    """Bookkeeping after the changes: clear move intents, write `eniops:holder` tags.

    Both are best effort: a failure (an older IAM policy, the deadline) is a warning.
    """
    reached = [r for r in runs if r.reached_goal and not r.rolled_back and r.made_changes]
    calls: list[tuple[str, dict[str, Any]]] = []
    intents = sorted(
        {r.chain.clear_intent for r in runs if r.reached_goal and r.chain.clear_intent}
    )
    if intents:
        calls.append(("DeleteTags", {"Resources": intents, "Tags": [{"Key": MOVE_TAG}]}))
    for value, subjects in sorted(
        _holder_tags(r.chain for r in reached).items(), key=lambda item: str(item[0])
    ):
        calls.append(_holder_call(subjects, value))
    if run.stop_requested or run.deadline.expired():
        steps = [Step(f"ec2:{a}", p, "skipped", "out of time") for a, p in calls]
        return steps, [f"{a} {p['Tags'][0]['Key']} not sent: out of time" for a, p in calls]
    outcomes = run.reader.at_once(*(lambda a=a, p=p: _bookkeeping(run, a, p) for a, p in calls))
    steps = [step for step, _ in outcomes]
    return steps, [warning for _, warning in outcomes if warning]


def _bookkeeping(run: Run, action: str, params: dict[str, Any]) -> tuple[Step, str]:
    """One tag call; its failure is a warning, never the failure of the change it follows."""
    try:
        run.gateway.call(action, params, change=True)
    except EniopsError as err:
        key = params["Tags"][0]["Key"]
        warning = f"{key} tag on {', '.join(params['Resources'])} not written: {err.message}"
        return Step(f"ec2:{action}", params, "failed", err.message), warning
    return Step(f"ec2:{action}", params, "done"), ""


def where_everything_is(plan: Plan, run: Run) -> dict[str, Any]:
    """One read of every resource of the plan (past the deadline if need be, bounded)."""
    gateway = run.gateway if not run.deadline.expired() else run.gateway.past_deadline()
    reader = Reader(gateway)
    wanted: dict[str, set[str]] = {}
    destinations: dict[str, str] = {}
    for chain in plan.chains:
        for kind, resource in chain.subjects:
            wanted.setdefault(kind, set()).add(resource)
            if "destination" in chain.context:
                destinations[resource] = str(chain.context["destination"])
    resources: dict[str, Any] = {}
    for kind_name, ids in sorted(wanted.items()):
        try:
            found = reader.current(kind_name, sorted(ids))
        except EniopsError as err:
            resources.update(dict.fromkeys(sorted(ids), f"unknown: {err.message}"))
            continue
        for resource in sorted(ids):
            state = found.get(resource)
            resources[resource] = (
                "not found" if state is None else view(state, destinations.get(resource))
            )
    return resources


def view(state: Any, destination: str | None = None) -> Any:
    """A resource's state as results and errors show it."""
    if destination is not None and hasattr(state, "route"):
        return state.summary(destination)
    return _summary(state)


def in_words(state: Any) -> str:
    """Where a resource is, in a few words (for error messages)."""
    if not isinstance(state, Mapping):
        return str(state)
    if "eni" in state and "attachment_status" in state:
        if state.get("instance"):
            return (
                f"{state['eni']} is {state['attachment_status']} on {state['instance']} "
                f"at device index {state['device_index']}"
            )
        return f"{state['eni']} is {state.get('status')}, attached to nothing"
    if "public_ip" in state:
        if state.get("eni"):
            holder = state.get("instance") or state["eni"]
            return f"{state['public_ip']} is on {holder} ({state.get('private_ip')})"
        return f"{state['public_ip']} is associated with nothing"
    if "route_table" in state:
        return f"{state['route_table']}: {state['destination']} -> {state['target']}"
    return str(state)


def _chain_report(chain_run: ChainRun) -> dict[str, Any]:
    report: dict[str, Any] = {"step": chain_run.chain.name, **chain_run.chain.context}
    report["steps"] = [s.to_dict() for s in chain_run.steps]
    if chain_run.error is not None:
        report["error"] = chain_run.error.to_dict()
        report["rolled_back"] = chain_run.rolled_back
    else:
        report["result"] = "done"
    return report


def _failure(
    plan: Plan, run: Run, runs: list[ChainRun], failed: list[ChainRun], final_steps: list[Step]
) -> EniopsError:
    """The one error that says how the plan ended, and where everything is now."""
    resources = where_everything_is(plan, run)
    first = failed[0]
    error = first.error
    assert error is not None
    details: dict[str, Any] = dict(error.details)
    details.update(plan.before)
    if len(runs) == 1:
        details.update(first.chain.context)
        details["steps"] = [s.to_dict() for s in [*first.steps, *final_steps]]
        if first.undo_error is not None:
            details["rollback_error"] = first.undo_error.to_dict()
    else:
        details["steps"] = [_chain_report(r) for r in runs]
    primary = first.chain.subjects[0][1] if first.chain.subjects else None
    if primary is not None:
        details["state"] = resources.get(primary)
    details["resources"] = resources
    now = f"; now {in_words(details['state'])}" if details.get("state") is not None else ""
    still = [r for r in runs if r.changed]
    stop = next((r.error for r in runs if isinstance(r.error, Interrupted)), None)
    if stop is not None:
        return Interrupted(stop.message + now, signal=stop.signal, details=details)
    late = next((r.error for r in runs if isinstance(r.error, OperationTimeout)), None)
    if late is not None:
        return OperationTimeout(late.message + now, details=details)
    conflicts_only = all(isinstance(r.error, Conflict) for r in failed)
    if not any(r.made_changes for r in runs) or (conflicts_only and len(runs) == 1):
        return _with_details(error, details)
    if conflicts_only and not still:
        return _with_details(error, details)
    rolled_back = not still
    details["cause"] = error.to_dict()
    what = "; ".join(f"{r.chain.name}: {r.error.message if r.error else ''}" for r in failed)
    if rolled_back:
        message = f"{plan.operation} failed and was put back ({what}){now}"
    else:
        message = f"{plan.operation} failed halfway and was NOT put back ({what}){now}"
    return PartialFailure(message, rolled_back=rolled_back, details=details)


def _with_details(error: EniopsError, details: dict[str, Any]) -> EniopsError:
    error.details.clear()
    error.details.update(details)
    return error


def _verified_after(chain_run: ChainRun) -> dict[str, Any]:
    """The chain's planned end state, with what verification read in its place."""
    after: dict[str, Any] = {}
    for key, value in chain_run.chain.after.items():
        after[key] = dict(value) if isinstance(value, Mapping) else value
    destination = chain_run.chain.context.get("destination")
    for path, subject in chain_run.chain.shows.items():
        state = chain_run.last.get(subject)
        if state is None:
            continue
        *parents, leaf = path.split("/")
        target = after
        for parent in parents:
            target = target.setdefault(parent, {})
        shown = view(state, str(destination) if destination else None)
        planned = target.get(leaf)
        if (
            isinstance(shown, dict)
            and isinstance(planned, Mapping)
            and shown.get("instance") is None
            and shown.get("eni") == planned.get("eni")
        ):
            # Some describes (moto's) leave the instance out of an address: the read says it.
            shown["instance"] = planned.get("instance")
        target[leaf] = shown
    return after


def _merge(into: dict[str, Any], more: Mapping[str, Any]) -> None:
    for key, value in more.items():
        if isinstance(value, Mapping) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


def _applied(
    plan: Plan, run: Run, runs: list[ChainRun], final_steps: list[Step], final_warnings: list[str]
) -> Result:
    warnings = [*plan.warnings, *(w for r in runs for w in r.warnings), *final_warnings]
    if not plan.composite:
        after: dict[str, Any] = {}
        _merge(after, plan.after)
        for chain_run in runs:
            _merge(after, _verified_after(chain_run))
        return _result(
            plan,
            run,
            changed=any(r.changed for r in runs),
            steps=(*(s for r in runs for s in r.steps), *final_steps),
            warnings=tuple(warnings),
            after=after,
        )
    children = tuple(
        Result(
            operation=r.chain.operation,
            mode=run.mode,
            changed=r.changed,
            steps=tuple(r.steps),
            before={**r.chain.before, "read_at": run.read_at_wall},
            after=_verified_after(r),
            warnings=tuple(r.warnings),
            elapsed_s=run.deadline.elapsed(),
        )
        for r in runs
    )
    return _result(
        plan,
        run,
        changed=any(r.changed for r in runs),
        steps=tuple(final_steps),
        warnings=(*plan.warnings, *final_warnings),
        children=children,
        after=dict(plan.after),
    )


def _result(
    plan: Plan,
    run: Run,
    *,
    changed: bool,
    steps: tuple[Step, ...],
    warnings: tuple[str, ...],
    children: tuple[Result, ...] = (),
    after: Mapping[str, Any] | None = None,
) -> Result:
    before = {**plan.before, "read_at": run.read_at_wall}
    if after is None:
        after = plan.after if not plan.empty else plan.before
    return Result(
        operation=run.operation,
        mode=run.mode,
        changed=changed and run.mode == "apply",
        steps=steps,
        before=before,
        after=dict(after),
        warnings=tuple(dict.fromkeys([*run.warnings, *warnings])),
        elapsed_s=run.deadline.elapsed(),
        children=children,
    )
