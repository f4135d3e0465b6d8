"""The one executor: runs a `Plan` under a mode and says exactly what happened.

- `plan` lists every call of the plan, in order, as planned, and calls nothing.
- `dry-run` sends each call EC2 accepts `DryRun` for with `DryRun=True`, and says which it
  cannot check (EC2 offers no DryRun for them, or they depend on an earlier change).
- `apply` runs the plan's chains at once (`_chain`): each change is sent, checked as its
  plan says, with its bookkeeping riding beside the check; waits of every chain are read
  together within a describe budget (`_poller`); a failure undoes what its chain (or, for
  an atomic plan, every chain) did. How it ended is said once (`_outcome`).

How work runs at once, in five lines:
  the caller's thread runs one loop (`_loop.Loop`); each chain is a generator it steps;
  a chain yields an EC2 call, a pause, a wait or several of these side by side, nothing else;
  each EC2 call is a future on the process's one bounded pool (`eniops._core._threads`);
  the loop stops waiting for a call at its bound: the deadline (a change: plus `in_flight_s`);
  the chain then hears `OperationTimeout`, undoes what it may, and the loop reads where all is.
"""

from __future__ import annotations

from collections.abc import Iterator

from .._core._errors import PermissionDenied
from .._core._result import Result, Step
from .._plan import Change, Params, Plan, Wait, calls_of
from . import _outcome
from ._chain import ChainRun, undo
from ._loop import Loop, Steps
from ._run import Run
from ._send import has_ref, resolve, shown


def execute(plan: Plan, run: Run) -> Result:
    """Run `plan` under `run.mode`; return its Result or raise what went wrong."""
    if plan.empty:
        return _outcome.result(plan, run, warnings=plan.warnings)
    if run.mode == "plan":
        steps = [
            Step(f"ec2:{c.action}", shown(c.params), "planned", c.note)
            for chain in plan.chains
            for c in chain.changes
        ]
        return _outcome.planned(plan, run, steps, [])
    if run.mode == "dry-run":
        return _dry_run(plan, run)
    return _apply(plan, run)


#: Why a call of a plan is not sent with DryRun=True.
NO_DRY_RUN = "no DryRun in EC2"
DEPENDS = "depends on an earlier change: not checked by EC2 before it"


def dry_run_calls(plan: Plan) -> Iterator[tuple[Change, bool, str]]:
    """Every call of `plan` in order: the change, whether it is a rider (bookkeeping beside
    a check: apply goes on without it), and why it cannot be sent with DryRun=True ("" when
    it can)."""
    for chain in plan.chains:
        for item in chain.items:
            for number, change in enumerate(calls_of(item)):
                rider = number > 0 or isinstance(item, Wait)
                why = (
                    NO_DRY_RUN if not change.dry_run else DEPENDS if has_ref(change.params) else ""
                )
                yield change, rider, why


def _dry_run(plan: Plan, run: Run) -> Result:
    """Each call sent with DryRun=True where EC2 takes it; the rest said, not skipped."""
    steps: list[Step] = []
    notes: list[str] = []
    for change, rider, why in dry_run_calls(plan):
        if why == NO_DRY_RUN:
            notes.append(
                f"EC2 offers no DryRun for {change.action}: planned only, not checked by EC2"
            )
        note = why or _try_dry_run(run, change.action, change.params, rider, notes)
        steps.append(Step(f"ec2:{change.action}", shown(change.params), "planned", note))
    return _outcome.planned(plan, run, steps, notes)


def _try_dry_run(run: Run, action: str, params: Params, rider: bool, notes: list[str]) -> str:
    """One DryRun. A refused rider (a bookkeeping tag beside a check) is a note: apply goes
    on without it; anything else refused is refused here too."""
    try:
        run.gateway.dry_run(action, params)
    except PermissionDenied:
        if not rider:
            raise
        notes.append(f"{action} would be refused (IAM): the changes would succeed without it")
        return "DryRun refused: UnauthorizedOperation"
    return "DryRun passed"


def _apply(plan: Plan, run: Run) -> Result:
    loop = Loop(run)
    runs = [ChainRun(chain, run) for chain in plan.chains]
    loop.run_all(*(r.applying() for r in runs))
    crash = next((r.crash for r in runs if r.crash is not None), None)
    if crash is not None:
        raise crash
    failed = [r for r in runs if r.error is not None]
    if failed and plan.atomic:
        loop.run_all(*(_undone(r) for r in runs if r.error is None and r.done))
    if failed:
        raise _outcome.failure(plan, run, runs, failed)
    return _outcome.applied(plan, run, runs)


def _undone(chain_run: ChainRun) -> Steps[None]:
    """A chain that succeeded, put back because another of an atomic plan failed."""
    chain_run.rolled_back = yield from undo(chain_run)


__all__ = ["DEPENDS", "NO_DRY_RUN", "Run", "dry_run_calls", "execute", "resolve"]
