"""Plans are data: the mutating calls an operation makes, in order, with what each must show.

A `Plan` is built by a pure function from the state an operation read. It holds `Chain`s
that run at once; each chain is a sequence of `Change`s (one mutating call each, its
expected effect and its undo) and `Wait`s. What a change must show is an `Expectation`: a
pure function of a re-read resource that answers done, settling (EC2 has it, the
transition runs) or absent (not yet, or not at all), and raises `Conflict` when a third
party holds the resource. The executor (`_executor`) honours the mode, runs the chains,
polls, verifies, rolls back and records steps; nothing here calls AWS.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from ._errors import Conflict
from ._model import Address, Eni, RouteTable

Kind = Literal["eni", "address", "route-table", "private-ip"]
#: A resource the executor can re-read: its kind and id.
Subject = tuple[Kind, str]
Progress = Literal["done", "settling", "absent"]


@dataclass(frozen=True)
class Ref:
    """A parameter known only once an earlier change of the chain was verified."""

    fact: str

    def __str__(self) -> str:
        return f"<{self.fact.replace('_', ' ')} of the new attachment>"


@dataclass(frozen=True)
class Seen:
    """What a re-read showed for an expectation, and facts learnt from it."""

    progress: Progress
    facts: Mapping[str, Any] = field(default_factory=dict)


DONE = Seen("done")
SETTLING = Seen("settling")
ABSENT = Seen("absent")


def _moved_away(resource: str, now: str, state: Mapping[str, Any], **details: Any) -> Conflict:
    return Conflict(
        "expect-mismatch",
        f"{resource} was moved by someone else (now {now}); left where it is",
        details={"resource": resource, "current": dict(state), **details},
    )


@dataclass(frozen=True)
class Expectation:
    """What a resource must show once a change has taken effect."""

    kind: ClassVar[Kind]
    resource: str

    @property
    def subject(self) -> Subject:
        """The resource to re-read."""
        return (self.kind, self.resource)

    def observe(self, state: Any) -> Seen:  # pragma: no cover - every subclass overrides
        """Judge a re-read of the resource (None when it does not exist)."""
        raise NotImplementedError

    def doing(self) -> str:  # pragma: no cover - every subclass overrides
        """What waiting for it is, in words."""
        raise NotImplementedError


@dataclass(frozen=True)
class AddressOn(Expectation):
    """An Elastic IP associated with an ENI's private IP.

    `allowed` are the ENIs (None: unassociated) it may still show while EC2 catches up;
    anywhere else means someone else took it.
    """

    kind: ClassVar[Kind] = "address"
    eni_id: str = ""
    private_ip: str = ""
    allowed: frozenset[str | None] = frozenset()

    def observe(self, state: Address | None) -> Seen:
        if state is None:
            return ABSENT
        if state.eni_id == self.eni_id and state.private_ip in (self.private_ip, None):
            return DONE
        if state.eni_id in self.allowed or state.eni_id == self.eni_id:
            return ABSENT
        raise _moved_away(
            state.public_ip or self.resource,
            f"on {state.instance_id or state.eni_id}",
            state.summary(),
            wanted={"eni": self.eni_id, "private_ip": self.private_ip},
        )

    def doing(self) -> str:
        return f"verifying {self.resource} on {self.eni_id} ({self.private_ip})"


@dataclass(frozen=True)
class AddressHeldBy(Expectation):
    """A guard: the Elastic IP is still held by one of `holders` (instance or ENI ids, None
    for unassociated), or already on the change's target."""

    kind: ClassVar[Kind] = "address"
    holders: frozenset[str | None] = frozenset()
    target_eni: str = ""

    def observe(self, state: Address | None) -> Seen:
        if state is None:
            return ABSENT
        if state.eni_id == self.target_eni:
            return DONE
        now = {state.eni_id, state.instance_id} if state.associated else {None}
        if now & self.holders:
            return ABSENT
        raise _moved_away(
            state.public_ip or self.resource,
            f"on {state.instance_id or state.eni_id or 'nothing'}",
            state.summary(),
        )

    def doing(self) -> str:
        return f"checking who holds {self.resource}"


@dataclass(frozen=True)
class EniDetached(Expectation):
    """An ENI whose attachment `attachment_id` is gone: it is available.

    Attached again to `target` (a concurrent run of the same move) also counts: the move
    goes on from there. Attached anywhere else means someone else took it.
    """

    kind: ClassVar[Kind] = "eni"
    attachment_id: str = ""
    source: str = ""
    target: str = ""

    def observe(self, state: Eni | None) -> Seen:
        if state is None:
            return ABSENT
        att = state.attachment
        if att is None:
            return DONE if state.status in ("available", "") else SETTLING
        if att.attachment_id == self.attachment_id:
            return SETTLING if att.status in ("detaching", "detached") else ABSENT
        if att.instance_id == self.target:
            return DONE
        raise _moved_away(self.resource, f"on {att.instance_id}", state.summary())

    def doing(self) -> str:
        return f"waiting for {self.resource} to detach from {self.source}"


@dataclass(frozen=True)
class EniAttached(Expectation):
    """An ENI attached (status `attached`) to `instance_id`."""

    kind: ClassVar[Kind] = "eni"
    instance_id: str = ""
    #: The instance it may still be leaving while this change waits to be sent.
    leaving: str | None = None

    def observe(self, state: Eni | None) -> Seen:
        if state is None:
            return ABSENT
        att = state.attachment
        if att is None:
            return ABSENT
        if att.instance_id == self.instance_id and att.status == "attached":
            return Seen(
                "done",
                {
                    "attachment_id": att.attachment_id,
                    "device_index": att.device_index,
                    "delete_on_termination": att.delete_on_termination,
                },
            )
        if att.instance_id == self.instance_id and att.status == "attaching":
            return SETTLING
        if att.status == "detaching" or att.instance_id == self.leaving:
            return ABSENT
        raise _moved_away(self.resource, f"on {att.instance_id}", state.summary())

    def doing(self) -> str:
        return f"waiting for {self.resource} to attach to {self.instance_id}"


@dataclass(frozen=True)
class DeletesOnTermination(Expectation):
    """An ENI's current attachment has `DeleteOnTermination` set."""

    kind: ClassVar[Kind] = "eni"

    def observe(self, state: Eni | None) -> Seen:
        att = state.attachment if state is not None else None
        return DONE if att is not None and att.delete_on_termination else ABSENT

    def doing(self) -> str:
        return f"verifying DeleteOnTermination on {self.resource}"


@dataclass(frozen=True)
class IpsOn(Expectation):
    """An ENI shows all of `ips` (`present=True`) or none of them."""

    kind: ClassVar[Kind] = "eni"
    ips: tuple[str, ...] = ()
    present: bool = True

    def observe(self, state: Eni | None) -> Seen:
        if state is None:
            return ABSENT
        ok = all((ip in state.private_ips) == self.present for ip in self.ips)
        return DONE if ok else ABSENT

    def doing(self) -> str:
        verb = "show" if self.present else "drop"
        return f"waiting for {self.resource} to {verb} {', '.join(self.ips)}"


@dataclass(frozen=True)
class RouteTo(Expectation):
    """A route table's route for `destination` targets `eni_id` (None: no such route).

    `previous` is what the route targeted when it was read (None: there was none).
    """

    kind: ClassVar[Kind] = "route-table"
    destination: str = ""
    eni_id: str | None = None
    previous: str | None = None

    def observe(self, state: RouteTable | None) -> Seen:
        if state is None:
            return ABSENT
        route = state.route(self.destination)
        target = route.target if route is not None else None
        if target == self.eni_id:
            return DONE
        if target == self.previous:
            return ABSENT
        raise _moved_away(
            f"the route to {self.destination} in {self.resource}",
            f"to {target or 'nothing'}",
            state.summary(self.destination),
        )

    def doing(self) -> str:
        return f"verifying {self.destination} -> {self.eni_id} in {self.resource}"


def private_ip_subject(subnet_id: str, ip: str) -> str:
    """The resource id of a private IP: IPs are unique within a subnet, not a region."""
    return f"{subnet_id}/{ip}"


@dataclass(frozen=True)
class IpHeldBy(Expectation):
    """A private IP (resource ``<subnet>/<ip>``) on `eni_id`; the ENI that holds it is read.

    `allowed` are the ENIs (None: nobody) it may still be on while EC2 catches up; any
    other ENI means someone else reassigned it.
    """

    kind: ClassVar[Kind] = "private-ip"
    eni_id: str = ""
    allowed: frozenset[str | None] = frozenset()

    def observe(self, state: Eni | None) -> Seen:
        holder = state.eni_id if state is not None else None
        if holder == self.eni_id:
            return DONE
        if holder in self.allowed or holder is None:
            return ABSENT
        assert state is not None
        ip = self.resource.rpartition("/")[2]
        raise _moved_away(ip, f"on {state.instance_id or holder}", state.summary(), ip=ip)

    def doing(self) -> str:
        return f"verifying {self.resource.rpartition('/')[2]} on {self.eni_id}"


@dataclass(frozen=True)
class Tagged(Expectation):
    """A resource carries tag `key` = `value`."""

    kind: ClassVar[Kind] = "eni"
    key: str = ""
    value: str = ""

    def observe(self, state: Eni | None) -> Seen:
        tags = state.tags if state is not None else {}
        return DONE if tags.get(self.key) == self.value else ABSENT

    def doing(self) -> str:
        return f"verifying tag {self.key} on {self.resource}"


@dataclass(frozen=True)
class Change:
    """One mutating call, what it must show, and how to put it back."""

    action: str  # EC2 operation, e.g. "AttachNetworkInterface"
    params: Mapping[str, Any]
    expect: Expectation | None = None
    #: EC2 accepts DryRun=True for this call.
    dry_run: bool = True
    #: The calls that put this change back (run in order), for rollback.
    undo: tuple[Change, ...] = ()
    #: Re-checked by a fresh read before the call is sent again after an error.
    guard: Expectation | None = None
    #: EC2 has no compare-and-swap for this call: instead of `expect`, these verify it, read
    #: no earlier than `RetryPolicy.confirm_after_s` after the answer, so that a competing
    #: write sent meanwhile is seen (a `Conflict`).
    confirm: tuple[Expectation, ...] = ()
    #: Bookkeeping (tags): on its own it changes nothing a service sees.
    bookkeeping: bool = False
    #: Once this is done the chain's goal is reached: later failures are reported, not undone.
    final: bool = False
    #: Wait for `expect` after a successful answer. False: a success answer is enough (a tag
    #: write), and `expect` only settles an answer that leaves the outcome open.
    verify: bool = True
    note: str = ""


@dataclass(frozen=True)
class Wait:
    """Wait, without a call, until a resource shows `expect` (a transition already running)."""

    expect: Expectation


@dataclass(frozen=True)
class Chain:
    """The changes of one resource's move, in order; chains of a plan run at once."""

    name: str  # e.g. "move eni-0abc…"
    operation: str  # the operation a Result for this chain is named after
    items: tuple[Change | Wait, ...]
    #: Resources whose state the chain's errors and results report.
    subjects: tuple[Subject, ...]
    before: Mapping[str, Any] = field(default_factory=dict)
    after: Mapping[str, Any] = field(default_factory=dict)
    #: Facts about the chain that errors repeat (ids, source, target, device index).
    context: Mapping[str, Any] = field(default_factory=dict)
    #: Result keys ("eni", "routes/rtb-…") filled with the verified state of a subject.
    shows: Mapping[str, Subject] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    #: After success: tag each resource `eniops:holder` with this value (None: remove the tag).
    holders: tuple[tuple[Subject, str | None], ...] = ()
    #: After success: remove the `eniops:move` tag from this ENI.
    clear_intent: str | None = None
    #: Undo the changes already made when a later one fails.
    rollback: bool = True

    @property
    def changes(self) -> tuple[Change, ...]:
        """The chain's mutating calls, in order."""
        return tuple(item for item in self.items if isinstance(item, Change))

    @property
    def changes_state(self) -> bool:
        """True when the chain has something to do beyond bookkeeping and waiting."""
        return any(not c.bookkeeping for c in self.changes)


@dataclass(frozen=True)
class Plan:
    """Everything an operation will do, decided before the first change."""

    operation: str
    chains: tuple[Chain, ...]
    before: Mapping[str, Any] = field(default_factory=dict)
    after: Mapping[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    #: A failed chain puts the others back too (the route tables of one destination).
    atomic: bool = False
    #: One child Result per chain (a composite operation), instead of one flat Result.
    composite: bool = False

    @property
    def empty(self) -> bool:
        """True when there is nothing to do: already in place."""
        return not self.chains
