"""Plans are data: every mutating call an operation makes, in order, with what each must show.

A `Plan` is built by a pure function from the state an operation read. It holds `Chain`s
that run at once; each chain is a sequence of `Change`s (one mutating call each: its
expected effect, how that is checked, its undo, and the bookkeeping calls that ride beside
its check) and `Wait`s. What a change must show is an `Expectation`: a pure function of a
re-read resource that answers done, settling (EC2 has it, the transition runs) or absent
(not yet, or not at all), and raises `Conflict` when a third party holds the resource. The
executor (`_executor`) honours the mode, runs the chains, polls, verifies, rolls back and
records steps; nothing here calls AWS. The plan is every call: `plan` mode lists exactly
the calls `apply` makes, in the order it makes them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, TypeAlias

from .._core._json import JsonObject
from .._state._views import Described, Subject
from ._expect import Expectation

#: How a change is known to have taken effect once EC2 answered it:
#: ``wait``: its expectations are polled until they hold (a transition to see through);
#: ``settle``: EC2's success answer is enough (a tag); the expectations only settle an
#:   answer that leaves the outcome open (5xx, a lost answer);
#: ``confirm``: a guarded take EC2 cannot compare-and-swap: one read, made
#:   `RetryPolicy.confirm_after_s` after the answer, so that a competing write sent
#:   meanwhile is seen (a `Conflict`).
Check = Literal["wait", "settle", "confirm"]
#: What a change is to its chain: ``step`` on the way, ``goal`` (once it is done and checked,
#: the chain's purpose is reached: a later failure is reported, never undone), or
#: ``bookkeeping`` (eniops' own tags: changed nothing a service sees; after the goal, a
#: failure is a warning).
Role = Literal["step", "goal", "bookkeeping"]

#: Mutating EC2 calls that take no DryRun: `dry-run` plans them and says so.
NO_DRY_RUN = frozenset(
    {
        "AssignPrivateIpAddresses",
        "UnassignPrivateIpAddresses",
        "AssignIpv6Addresses",
        "UnassignIpv6Addresses",
    }
)


@dataclass(frozen=True)
class Ref:
    """A parameter known only once an earlier change of the chain was verified."""

    fact: str

    def __str__(self) -> str:
        return f"<{self.fact.replace('_', ' ')} of the new attachment>"


#: A parameter of an EC2 call as a plan holds it: plain data, in which a `Ref` stands for a
#: fact an earlier change of the chain establishes (resolved by the executor when it sends).
Param: TypeAlias = "Ref | bool | int | float | str | Sequence[Param] | Mapping[str, Param] | None"
#: The parameters of one EC2 call, by name as boto3 takes them.
Params: TypeAlias = "Mapping[str, Param]"


@dataclass(frozen=True)
class Change:
    """One mutating call: what it must show and how that is checked, how to put it back,
    and the bookkeeping calls that ride beside its check."""

    action: str  # EC2 operation, e.g. "AttachNetworkInterface"
    params: Params
    #: What the resources must show once it has taken effect (see `check`).
    expect: tuple[Expectation, ...] = ()
    check: Check = "wait"
    role: Role = "step"
    #: The calls that put this change back (run in order), for rollback.
    undo: tuple[Change, ...] = ()
    #: Re-checked by a fresh read before the call is sent again after an error.
    guard: Expectation | None = None
    #: Error codes EC2 answers while an earlier change of the chain is still settling (an
    #: IPv6 address unassigned a moment ago still shown in use): the change is sent again,
    #: after its expectations are read (one that shows someone else stops it).
    pending: frozenset[str] = frozenset()
    #: Sent as soon as this change is answered, beside its check (an `eniops:holder` tag,
    #: the removal of a move's intent): no round trip of their own.
    riders: tuple[Change, ...] = ()
    #: The same attach at the other device indexes eniops could have picked, lowest first:
    #: when EC2 refuses this one's index as taken (a concurrent attach landed since the
    #: read), the instance is read again and the first of them free now is sent, once.
    elsewhere: tuple[Change, ...] = ()
    note: str = ""

    def __post_init__(self) -> None:
        _only_bookkeeping(self.riders)

    @property
    def dry_run(self) -> bool:
        """True when EC2 accepts DryRun=True for this call."""
        return self.action not in NO_DRY_RUN

    @property
    def calls(self) -> tuple[Change, ...]:
        """This change and its riders, in the order they are sent."""
        return (self, *self.riders)


@dataclass(frozen=True)
class Wait:
    """Wait, without a call, until a resource shows `expect` (a transition already running),
    with bookkeeping calls riding beside the wait as beside a change's check."""

    expect: Expectation
    riders: tuple[Change, ...] = ()

    def __post_init__(self) -> None:
        _only_bookkeeping(self.riders)


def _only_bookkeeping(riders: tuple[Change, ...]) -> None:
    """Riders are eniops' own tags: a failure of one is a warning, and none is waited for."""
    wrong = [r.action for r in riders if r.role != "bookkeeping"]
    if wrong:
        raise ValueError(f"a rider must be bookkeeping: {', '.join(wrong)}")


@dataclass(frozen=True)
class Chain:
    """The changes of one resource's move, in order; chains of a plan run at once."""

    name: str  # e.g. "move eni-0abc…"
    operation: str  # the operation a Result for this chain is named after
    items: tuple[Change | Wait, ...]
    #: The resource the chain moves, then any other resource whose state its errors report.
    subjects: tuple[Subject, ...]
    before: Described = field(default_factory=dict)
    after: Described = field(default_factory=dict)
    #: Facts about the chain that errors repeat (ids, source, target, device index).
    context: JsonObject = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    #: Undo the changes already made when a later one fails.
    rollback: bool = True

    @property
    def changes(self) -> tuple[Change, ...]:
        """Every mutating call of the chain, riders included, in the order they are sent."""
        return tuple(call for item in self.items for call in calls_of(item))


def calls_of(item: Change | Wait) -> tuple[Change, ...]:
    """The calls an item of a chain makes: a change and its riders, or a wait's riders."""
    return item.calls if isinstance(item, Change) else item.riders


@dataclass(frozen=True)
class Plan:
    """Everything an operation will do, decided before the first change."""

    operation: str
    chains: tuple[Chain, ...]
    before: Described = field(default_factory=dict)
    after: Described = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    #: A failed chain puts the others back too (the route tables of one destination).
    atomic: bool = False
    #: One child Result per chain (a composite operation), instead of one flat Result.
    composite: bool = False

    @property
    def empty(self) -> bool:
        """True when there is nothing to do: already in place."""
        return not self.chains
