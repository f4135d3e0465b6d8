"""How a run ended, said once: the `Result` of a plan, or the one error that says where every
resource of the plan is now (read once more, past the deadline if need be, but bounded)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from .._core._errors import Conflict, EniopsError, Interrupted, OperationTimeout, PartialFailure
from .._core._json import JsonDict
from .._core._result import Result, Step
from .._plan import Chain, Plan
from .._state._views import Kind, Planned, State, Subject, in_words, resolved, view

if TYPE_CHECKING:
    from ._chain import ChainRun
    from ._run import Run


def result(
    plan: Plan,
    run: Run,
    *,
    steps: Iterable[Step] = (),
    warnings: Iterable[str] = (),
    children: tuple[Result, ...] = (),
    changed: bool = False,
    seen: Mapping[Subject, State | None] | None = None,
) -> Result:
    """The Result of `plan`: `after` is what the plan expects, with what was read in place."""
    after = resolved(plan.after, seen or {}) if not plan.empty else resolved(plan.before, {})
    return Result(
        operation=run.operation,
        mode=run.mode,
        changed=changed and run.mode == "apply",
        steps=tuple(steps),
        before={**resolved(plan.before, {}), "read_at": run.read_at_wall},
        after=after,
        warnings=tuple(dict.fromkeys(warnings)),
        elapsed_s=run.deadline.elapsed(),
        children=children,
    )


def planned(plan: Plan, run: Run, steps: list[Step], notes: list[str]) -> Result:
    """The Result of `plan` and `dry-run`: every call as planned, nothing changed."""
    warnings = [*plan.warnings, *(w for chain in plan.chains for w in chain.warnings), *notes]
    if not plan.composite:
        return result(plan, run, steps=steps, warnings=warnings)
    children, offset = [], 0
    for chain in plan.chains:
        count = len(chain.changes)
        children.append(_child(chain, run, steps[offset : offset + count], chain.warnings, {}))
        offset += count
    return result(plan, run, warnings=[*plan.warnings, *notes], children=tuple(children))


def _child(
    chain: Chain,
    run: Run,
    steps: Iterable[Step],
    warnings: Iterable[str],
    seen: Mapping[Subject, State | None],
    *,
    changed: bool = False,
) -> Result:
    return Result(
        operation=chain.operation,
        mode=run.mode,
        changed=changed,
        steps=tuple(steps),
        before={**resolved(chain.before, {}), "read_at": run.read_at_wall},
        after=resolved(chain.after, seen),
        warnings=tuple(warnings),
        elapsed_s=run.deadline.elapsed(),
    )


def applied(plan: Plan, run: Run, runs: list[ChainRun]) -> Result:
    """The Result of a plan applied in full."""
    warnings = [*plan.warnings, *(w for r in runs for w in r.memory.warnings)]
    changed = any(r.changed for r in runs)
    seen = {subject: state for r in runs for subject, state in r.memory.last.items()}
    if not plan.composite:
        steps = [s for r in runs for s in r.steps]
        return result(plan, run, steps=steps, warnings=warnings, changed=changed, seen=seen)
    children = tuple(
        _child(r.chain, run, r.steps, r.memory.warnings, r.memory.last, changed=r.changed)
        for r in runs
    )
    return result(plan, run, warnings=plan.warnings, children=children, changed=changed)


def where_everything_is(plan: Plan, run: Run) -> JsonDict:
    """One read of every resource of the plan (past the deadline if need be, bounded)."""
    reader = run.final_reader()
    wanted: dict[Kind, list[Subject]] = {}
    for chain in plan.chains:
        for subject in chain.subjects:
            if subject not in wanted.setdefault(subject[0], []):
                wanted[subject[0]].append(subject)
    resources: JsonDict = {}
    for kind, subjects in sorted(wanted.items()):
        ids = [resource for _, resource in subjects]
        try:
            found = reader.current(kind, ids)
        except EniopsError as err:
            resources.update({str(r): f"unknown: {err.message}" for r in ids})
            continue
        for subject in subjects:
            state = found.get(subject[1])
            resources[str(subject[1])] = "not found" if state is None else view(subject, state)
    return resources


def _chain_report(chain_run: ChainRun) -> JsonDict:
    report: JsonDict = {"step": chain_run.chain.name, **chain_run.chain.context}
    report["steps"] = [s.to_dict() for s in chain_run.steps]
    if chain_run.error is not None:
        report["error"] = chain_run.error.to_dict()
        report["rolled_back"] = chain_run.rolled_back
    else:
        report["result"] = "done"
    return report


def failure(plan: Plan, run: Run, runs: list[ChainRun], failed: list[ChainRun]) -> EniopsError:
    """The one error that says how the plan ended, and where everything is now."""
    resources = where_everything_is(plan, run)
    first = failed[0]
    error = first.error
    assert error is not None
    details: JsonDict = {**error.details, **resolved(plan.before, {})}
    if len(runs) == 1:
        details.update(first.chain.context)
        details["steps"] = [s.to_dict() for s in first.steps]
        if first.undo_error is not None:
            details["rollback_error"] = first.undo_error.to_dict()
    else:
        details["steps"] = [_chain_report(r) for r in runs]
    subject = first.chain.subjects[0] if first.chain.subjects else None
    if subject is not None:
        details["state"] = resources.get(str(subject[1]))
    details["resources"] = resources
    now = f"; now {in_words(subject, details['state'])}" if subject and details["state"] else ""
    stop = next((r.error for r in runs if isinstance(r.error, Interrupted)), None)
    if stop is not None:
        return Interrupted(stop.message + now, signal=stop.signal, details=details)
    late = next((r.error for r in runs if isinstance(r.error, OperationTimeout)), None)
    if late is not None:
        return OperationTimeout(late.message + now, details=details)
    still = [r for r in runs if r.changed]
    conflicts_only = all(isinstance(r.error, Conflict) for r in failed)
    if (
        not any(r.made_changes for r in runs)
        or (conflicts_only and len(runs) == 1)
        or (conflicts_only and not still)
    ):
        return _with_details(error, details)
    details["cause"] = error.to_dict()
    what = "; ".join(f"{r.chain.name}: {r.error.message if r.error else ''}" for r in failed)
    if not still:
        message = f"{plan.operation} failed and was put back ({what}){now}"
    else:
        message = f"{plan.operation} failed halfway and was NOT put back ({what}){now}"
    return PartialFailure(message, rolled_back=not still, details=details)


def _with_details(error: EniopsError, details: JsonDict) -> EniopsError:
    return error.copy(details)


__all__ = ["Planned", "applied", "failure", "planned", "result", "where_everything_is"]
