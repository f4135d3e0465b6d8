"""What an operation did: `Result` and its `Step`s; `Readiness`; `Evacuation`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from ._errors import EniopsError, InvalidInput, PreconditionFailed, exit_code_for
from ._json import Json, JsonDict, JsonObject

StepStatus = Literal["planned", "done", "skipped", "rolled-back", "failed"]
Mode = Literal["apply", "plan", "dry-run"]


@dataclass(frozen=True)
class Step:
    """One EC2 call an operation made or would make."""

    action: str  # e.g. "ec2:AssociateAddress"
    params: JsonObject
    status: StepStatus
    note: str = ""

    def to_dict(self) -> JsonDict:
        """Plain JSON-serialisable data."""
        data: JsonDict = {
            "action": self.action,
            "params": _plain(self.params),
            "status": self.status,
        }
        if self.note:
            data["note"] = self.note
        return data


@dataclass(frozen=True)
class Result:
    """The outcome of an operation.

    `changed` is True only when EC2 state was changed (never in `plan` or `dry-run`).
    `before` and `after` hold the state that matters; `steps` every mutating call made or
    planned; `children` one `Result` per sub-operation (`failover_instance`).
    """

    operation: str
    mode: Mode
    changed: bool
    steps: tuple[Step, ...] = ()
    before: JsonObject = field(default_factory=dict)
    after: JsonObject = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    elapsed_s: float = 0.0
    children: tuple[Result, ...] = ()

    def to_dict(self) -> JsonDict:
        """Plain JSON-serialisable data."""
        return {
            "operation": self.operation,
            "mode": self.mode,
            "changed": self.changed,
            "steps": [step.to_dict() for step in self.steps],
            "before": _plain(self.before),
            "after": _plain(self.after),
            "warnings": list(self.warnings),
            "elapsed_s": round(self.elapsed_s, 3),
            "children": [child.to_dict() for child in self.children],
        }


def _plain(value: Json) -> Json:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [_plain(v) for v in value]
        return sorted(items, key=str) if isinstance(value, (set, frozenset)) else items
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


@dataclass(frozen=True)
class Problem:
    """One reason a failover would not work now: a reason code (those of `PreconditionFailed`
    and those only `check_failover` lists), the resource it concerns, and what is wrong."""

    reason: str
    resource: str
    message: str

    def to_dict(self) -> dict[str, str]:
        """Plain JSON-serialisable data."""
        return {"reason": self.reason, "resource": self.resource, "message": self.message}


@dataclass(frozen=True)
class Readiness:
    """Whether a failover would work right now (`check_failover`), with every problem.

    `ready` is True when there is no problem; `plan` is the failover's `Result` in plan mode
    when one could be made (None when a precondition of the failover fails).
    """

    ready: bool
    problems: tuple[Problem, ...] = ()
    warnings: tuple[str, ...] = ()
    plan: Result | None = None
    elapsed_s: float = 0.0

    def to_dict(self) -> JsonDict:
        """Plain JSON-serialisable data, keyed by the field names."""
        return {
            "ready": self.ready,
            "problems": [p.to_dict() for p in self.problems],
            "warnings": list(self.warnings),
            "plan": self.plan.to_dict() if self.plan is not None else None,
            "elapsed_s": round(self.elapsed_s, 3),
        }


#: One pair of a zone's check: its active instance, its standby, and whether its failover
#: would work now.
CheckedPair = tuple[str, str, Readiness]


@dataclass(frozen=True)
class ZoneReadiness:
    """`check --zone`: the readiness of each pair whose active instance is in `zone`."""

    zone: str
    pairs: tuple[CheckedPair, ...] = ()
    warnings: tuple[str, ...] = ()
    elapsed_s: float = 0.0

    def to_dict(self) -> JsonDict:
        """Plain JSON-serialisable data, keyed by the field names."""
        return {
            "zone": self.zone,
            "pairs": [
                {"instance": active, "standby": standby, "readiness": readiness.to_dict()}
                for active, standby, readiness in self.pairs
            ],
            "warnings": list(self.warnings),
            "elapsed_s": round(self.elapsed_s, 3),
        }


#: How one pair of an evacuation ended.
PairEnd = Literal["moved", "unchanged", "refused", "failed"]
#: One pair of an evacuation: its active instance, its standby, and the failover's `Result`
#: or the error that ended it.
EvacuatedPair = tuple[str, str, "Result | EniopsError"]


def pair_end(outcome: Result | EniopsError) -> PairEnd:
    """A pair's end: moved (something changed) or unchanged; refused by a check (nothing
    changed: a precondition, a guard, a bad argument); or failed (EC2 refused a change, a
    permission, a deadline, a change half made: the error says where everything is)."""
    if isinstance(outcome, Result):
        return "moved" if outcome.changed else "unchanged"
    if isinstance(outcome, (PreconditionFailed, InvalidInput)):
        return "refused"
    return "failed"


@dataclass(frozen=True)
class Evacuation:
    """The outcome of `evacuate`: each pair whose active instance is in `zone`, as it ended.

    It is not atomic: every pair is its own failover, counted as `moved`, `unchanged`,
    `refused` or `failed`."""

    zone: str
    pairs: tuple[EvacuatedPair, ...] = ()
    warnings: tuple[str, ...] = ()
    elapsed_s: float = 0.0

    def count(self, end: PairEnd) -> int:
        """How many pairs ended so."""
        return sum(1 for _, _, outcome in self.pairs if pair_end(outcome) == end)

    @property
    def moved(self) -> int:
        """Pairs whose failover changed something."""
        return self.count("moved")

    @property
    def unchanged(self) -> int:
        """Pairs with nothing to move (or planned only)."""
        return self.count("unchanged")

    @property
    def refused(self) -> int:
        """Pairs a check refused: nothing of theirs changed."""
        return self.count("refused")

    @property
    def failed(self) -> int:
        """Pairs whose failover failed: their error says where everything is."""
        return self.count("failed")

    @property
    def exit_code(self) -> int:
        """0 when every pair moved or had nothing to move, else the highest exit code among
        the pairs' errors."""
        codes = [exit_code_for(o) for _, _, o in self.pairs if isinstance(o, EniopsError)]
        return max(codes, default=0)

    def to_dict(self) -> JsonDict:
        """Plain JSON-serialisable data, keyed by the field names."""
        return {
            "zone": self.zone,
            "pairs": [
                {
                    "instance": instance,
                    "standby": standby,
                    "end": pair_end(outcome),
                    ("result" if isinstance(outcome, Result) else "error"): outcome.to_dict(),
                }
                for instance, standby, outcome in self.pairs
            ],
            "moved": self.moved,
            "unchanged": self.unchanged,
            "refused": self.refused,
            "failed": self.failed,
            "exit_code": self.exit_code,
            "warnings": list(self.warnings),
            "elapsed_s": round(self.elapsed_s, 3),
        }
