"""One chain being applied: each change sent (`_send`), checked as its plan says, its
bookkeeping riding beside the check; what was done undone when a later change fails.

A chain is a generator the executor's loop steps (`_loop`): each `yield from` below is where
it waits for EC2, and reads top to bottom as the chain runs."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from .._core import _codes
from .._core._errors import Conflict, EniopsError, Interrupted, OperationTimeout
from .._core._log import logger, named, said
from .._core._result import Step, StepStatus
from .._plan import Chain, Change, Param, Params, Wait
from .._plan._expect import Expectation
from ._loop import Steps, beside, call, wait_for
from ._send import Memory, Sender, resolve, shown

_LOG = logger("eniops.executor")

if TYPE_CHECKING:
    from ._run import Run


class ChainRun:
    """A chain being applied: its steps, what it has done, how it ended."""

    def __init__(self, chain: Chain, run: Run) -> None:
        self.chain = chain
        self.run = run
        self.memory = Memory(warnings=list(chain.warnings))
        self.sender = Sender(run, self.memory)
        self.steps: list[Step] = []
        #: Changes done, with the index of their step: undone newest first.
        self.done: list[tuple[int, Change]] = []
        self.error: EniopsError | None = None
        self.undo_error: EniopsError | None = None
        #: Anything else that ended the chain: a defect or the process being killed. It is
        #: raised again once every chain has stopped; nothing is undone.
        self.crash: BaseException | None = None
        self.made_changes = False
        self.rolled_back = False
        self.reached_goal = False

    @property
    def changed(self) -> bool:
        """True when a change that matters was made and is still in place."""
        return self.made_changes and not self.rolled_back

    def applying(self) -> Steps[None]:
        """Apply the chain; how it ended is kept on the chain (never raised)."""
        try:
            for item in self.chain.items:
                if isinstance(item, Wait):
                    yield from self._beside(item.riders, self._wait((item.expect,)))
                else:
                    yield from self._apply(item)
            self.reached_goal = True
        except EniopsError as err:
            self.error = err
            self.reached_goal = self._goal_done()
            yield from recover(self, err)
        except GeneratorExit:
            raise
        except BaseException as crash:  # raised again once every chain has stopped
            self.crash = crash

    # -- doing ------------------------------------------------------------------------------

    def _wait(self, expects: tuple[Expectation, ...], not_before: float = 0.0) -> Steps[None]:
        found = yield from wait_for(expects, not_before)
        for expect, (seen, state) in zip(expects, found, strict=True):
            self.memory.last[expect.subject] = state
            self.memory.facts.update(seen.facts)

    def _apply(self, change: Change) -> Steps[None]:
        if in_place(change, self.memory):
            self._record(change, change.params, "skipped", "already in place")
            answered = self.run.clock.now()
        else:
            # A change that fails sends none of its riders: an intent's removal rides beside
            # the last change of a move, and a move that is not whole keeps its intent.
            try:
                answered = yield from self.send(change)
            except EniopsError as refused:
                change = yield from elsewhere(self.run, self.memory, change, refused)
                answered = yield from self.send(change)
        index = len(self.steps) - 1
        yield from self._beside(change.riders, self.check(change, answered))
        self.done.append((index, change))
        if change.role != "bookkeeping":
            self.made_changes = True
            verified(self.run, change, self.steps[index], answered)

    def send(self, change: Change) -> Steps[float]:
        """Send one change and record its step; return when it was answered."""
        try:
            params, note = yield from self.sender.send(change)
        except EniopsError as err:
            self._record(change, resolve(change.params, self.memory.facts), "failed", err.message)
            raise
        self._record(change, params, "done", note)
        return self.run.clock.now()

    def _beside(self, riders: tuple[Change, ...], check: Steps[None]) -> Steps[None]:
        """Run `check` with each rider sent beside it; record the riders' steps in order. A
        rider that fails is a warning, never the failure of the check it rides beside."""
        failed, ridden = yield from beside(check, tuple(self._ride(r) for r in riders))
        for (outcome, _), rider in zip(ridden, riders, strict=True):
            step, sent, warning = outcome or (_step_of(rider, "skipped", ""), None, "")
            self.steps.append(step)
            if sent is not None and sent.undo:
                self.done.append((len(self.steps) - 1, sent))
            if warning:
                self.memory.warnings.append(warning)
        error = next((e for e in (failed, *(e for _, e in ridden)) if e is not None), None)
        if error is not None:  # the check's, else a rider's crash
            raise error

    def _ride(self, rider: Change) -> Steps[tuple[Step, Change | None, str]]:
        """One rider sent: its step, itself once sent (for its undo), and a warning if it
        failed."""
        try:
            params, note = yield from self.sender.send(rider)
        except EniopsError as err:
            status: StepStatus = "skipped" if isinstance(err, OperationTimeout) else "failed"
            what = f"{rider.action} {_tag_keys(rider)} on {_resources(rider)}"
            return _step_of(rider, status, err.message), None, f"{what} not done: {err.message}"
        return Step(f"ec2:{rider.action}", shown(params), "done", note), rider, ""

    def _goal_done(self) -> bool:
        return any(c.role == "goal" for _, c in self.done)

    def check(self, change: Change, answered: float) -> Steps[None]:
        """See that the change took effect, as its `check` says."""
        if change.check == "settle" or not change.expect:
            return
        at = answered + self.run.settings.policy.confirm_after_s if change.check == "confirm" else 0
        yield from self._wait(change.expect, at)

    def _record(self, change: Change, params: Params, status: StepStatus, note: str) -> None:
        self.steps.append(Step(f"ec2:{change.action}", shown(params), status, note))


def verified(run: Run, change: Change, step: Step, answered: float) -> None:
    """A change done and seen in effect, at INFO: what it named, and how long after EC2's
    answer its check saw it (a change found in place already is said as such)."""
    if not _LOG.isEnabledFor(logging.INFO):
        return
    seconds = run.clock.now() - answered
    how = "already in place" if step.status == "skipped" else f"verified in {seconds:.2f} s"
    _LOG.info(
        "%s: %s",
        said(change.action, step.params),
        how,
        extra={
            "fields": {
                "operation": run.operation,
                "action": change.action,
                "resources": named(step.params),
                "verified_s": round(seconds, 3),
            }
        },
    )


def elsewhere(run: Run, memory: Memory, change: Change, refused: EniopsError) -> Steps[Change]:
    """EC2 refused an attach because its device index is taken (an attach that landed since
    the read: two failovers into one standby): the first of its other indexes that a fresh
    read of the instance shows free, to be sent once; else the refusal stands."""
    if not change.elsewhere or not _codes.index_taken(refused):
        raise refused
    instance = str(change.params["InstanceId"])
    used = yield from call(
        lambda: run.reader.used_device_indexes(instance),
        run.deadline.remaining(),
        lambda: run.gateway.unanswered("DescribeNetworkInterfaces"),
    )
    chosen = next((c for c in change.elsewhere if c.params["DeviceIndex"] not in used), None)
    if chosen is None:
        raise refused
    memory.warnings.append(
        f"device index {change.params['DeviceIndex']} on {instance} was taken after it was "
        f"read (another attach at the same time): attached at {chosen.params['DeviceIndex']}"
    )
    return chosen


def in_place(change: Change, memory: Memory) -> bool:
    """True when the last state seen shows `change` in place (a concurrent run did it)."""
    last = memory.last
    if not change.expect or any(e.subject not in last for e in change.expect):
        return False
    seen = [e.observe(last[e.subject]) for e in change.expect]
    if any(s.progress == "absent" for s in seen):
        return False
    for one in seen:
        memory.facts.update(one.facts)
    return True


def recover(chain_run: ChainRun, err: EniopsError) -> Steps[None]:
    """After a failure: undo what the chain did, unless that is not ours to do (its goal
    was reached, it was told not to, or someone else holds the resource now)."""
    if not chain_run.done:
        chain_run.rolled_back = True
        return
    if (
        chain_run.reached_goal
        or not chain_run.chain.rollback
        or isinstance(err, (Conflict, Interrupted, OperationTimeout))
    ):
        return
    chain_run.rolled_back = yield from undo(chain_run)


def undo(chain_run: ChainRun) -> Steps[bool]:
    """Put back every change the chain did, newest first; False when one could not be."""
    run = chain_run.run
    if run.deadline.expired() or run.stop_requested:
        return False
    while chain_run.done:
        index, change = chain_run.done[-1]
        try:
            for back in change.undo:
                yield from chain_run.send(back)
                yield from chain_run.check(back, run.clock.now())
        except EniopsError as undo_err:
            chain_run.memory.warnings.append(
                f"putting back {change.action} failed: {undo_err.message}"
            )
            chain_run.undo_error = undo_err
            return False
        chain_run.done.pop()
        step = chain_run.steps[index]
        chain_run.steps[index] = Step(step.action, step.params, "rolled-back", step.note)
    chain_run.rolled_back = True
    return True


def _step_of(change: Change, status: StepStatus, note: str) -> Step:
    return Step(f"ec2:{change.action}", shown(change.params), status, note)


def _tag_keys(change: Change) -> str:
    tags = _listed(change, "Tags")
    return ", ".join(str(t.get("Key")) for t in tags if isinstance(t, Mapping)) or "tag"


def _resources(change: Change) -> str:
    return ", ".join(str(r) for r in _listed(change, "Resources"))


def _listed(change: Change, name: str) -> Sequence[Param]:
    """A parameter of `change` that is a list (empty when it is not there)."""
    value = change.params.get(name)
    return value if isinstance(value, (list, tuple)) else []
