"""What a change must show once it has taken effect: expectations, pure functions of a
re-read resource.

Each answers done, settling (EC2 has it, the transition runs) or absent (not yet, or not
at all), and raises `Conflict` when a third party holds the resource: the executor then
stops waiting at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import ClassVar, Literal, TypeAlias, TypeVar

from .._core._errors import Conflict
from .._core._json import Json
from .._state._model import Address, Eni
from .._state._routes import RouteTable
from .._state._views import Kind, PrivateIp, ResourceId, RouteRef, State, Subject, view

Progress = Literal["done", "settling", "absent"]


#: What a check learns of a change in place (a new attachment's id and device index), which a
#: later change of the chain names by a `Ref`.
Fact: TypeAlias = "str | int | bool"


@dataclass(frozen=True)
class Seen:
    """What a re-read showed for an expectation, and facts learnt from it."""

    progress: Progress
    facts: Mapping[str, Fact] = field(default_factory=dict)


DONE = Seen("done")
SETTLING = Seen("settling")
ABSENT = Seen("absent")


def _moved_away(what: str, now: str, subject: Subject, state: State, **details: Json) -> Conflict:
    return Conflict(
        "expect-mismatch",
        f"{what} was moved by someone else (now {now}); left where it is",
        details={"resource": what, "current": view(subject, state), **details},
    )


def _address_taken(expect: Expectation, state: Address, **details: Json) -> Conflict:
    """An Elastic IP someone else holds now (or released: 'nothing')."""
    return _moved_away(
        state.public_ip or str(expect.resource),
        f"on {state.instance_id or state.eni_id or 'nothing'}",
        expect.subject,
        state,
        **details,
    )


@dataclass(frozen=True)
class Expectation:
    """What a resource must show once a change has taken effect."""

    kind: ClassVar[Kind]
    resource: ResourceId

    @property
    def subject(self) -> Subject:
        """The resource to re-read."""
        return (self.kind, self.resource)

    def observe(self, state: State | None) -> Seen:  # pragma: no cover - each kind overrides
        """Judge a re-read of the resource (None when it does not exist)."""
        raise NotImplementedError

    def doing(self) -> str:  # pragma: no cover - every subclass overrides
        """What waiting for it is, in words."""
        raise NotImplementedError


S = TypeVar("S", Eni, Address, RouteTable)


def _narrowed(expect: Expectation, state: State | None, of: type[S]) -> S | None:
    """`state` as the kind of resource `expect` waits for (a read of another kind is a bug)."""
    if state is not None and not isinstance(state, of):
        raise TypeError(f"{type(expect).__name__} got a {type(state).__name__} to judge")
    return state


@dataclass(frozen=True)
class OfAddress(Expectation):
    """An expectation of an Elastic IP, judged on the address as read."""

    kind: ClassVar[Kind] = "address"

    def observe(self, state: State | None) -> Seen:
        return self.seen(_narrowed(self, state, Address))

    def seen(self, state: Address | None) -> Seen:  # pragma: no cover - subclasses override
        """Judge the address as read (None: it does not exist)."""
        raise NotImplementedError


@dataclass(frozen=True)
class OfEni(Expectation):
    """An expectation judged on an ENI as read: the ENI itself, or the one holding a private IP."""

    kind: ClassVar[Kind] = "eni"

    def observe(self, state: State | None) -> Seen:
        return self.seen(_narrowed(self, state, Eni))

    def seen(self, state: Eni | None) -> Seen:  # pragma: no cover - subclasses override
        """Judge the ENI as read (None: it does not exist, or no ENI holds the IP)."""
        raise NotImplementedError


@dataclass(frozen=True)
class OfRoute(Expectation):
    """An expectation of a route, judged on its route table as read."""

    kind: ClassVar[Kind] = "route-table"

    def observe(self, state: State | None) -> Seen:
        return self.seen(_narrowed(self, state, RouteTable))

    def seen(self, state: RouteTable | None) -> Seen:  # pragma: no cover - subclasses override
        """Judge the route table as read (None: it does not exist)."""
        raise NotImplementedError


@dataclass(frozen=True)
class AddressOn(OfAddress):
    """An Elastic IP associated with an ENI's private IP.

    `allowed` are the ENIs (None: unassociated) it may still show while EC2 catches up: where
    it was when read, never unassociated when it was associated then (EC2 moves an address in
    one step). Anywhere else, or on nothing, means someone else took it, or another address
    associated with the same private IP displaced it (EC2 does that silently).
    """

    eni_id: str = ""
    private_ip: str = ""
    allowed: frozenset[str | None] = frozenset()

    def seen(self, state: Address | None) -> Seen:
        if state is None:
            return ABSENT
        if state.eni_id == self.eni_id and state.private_ip in (self.private_ip, None):
            return DONE
        if state.eni_id in self.allowed or state.eni_id == self.eni_id:
            return ABSENT
        wanted = {"eni": self.eni_id, "private_ip": self.private_ip}
        if not state.associated:
            raise Conflict(
                "expect-mismatch",
                f"{state.public_ip or self.resource} is on nothing after EC2 took its association "
                f"with {self.eni_id} ({self.private_ip}): another Elastic IP associated with that "
                "private IP since displaced it (EC2 does that silently), or someone released it",
                details={
                    "resource": str(self.resource),
                    "current": view(self.subject, state),
                    "wanted": wanted,
                },
            )
        raise _address_taken(self, state, wanted=wanted)

    def doing(self) -> str:
        return f"verifying {self.resource} on {self.eni_id} ({self.private_ip})"


@dataclass(frozen=True)
class AddressHeldBy(OfAddress):
    """A guard: the Elastic IP is still held by one of `holders` (instance or ENI ids, None
    for unassociated), or already on the change's target."""

    holders: frozenset[str | None] = frozenset()
    target_eni: str = ""

    def seen(self, state: Address | None) -> Seen:
        if state is None:
            return ABSENT
        if state.eni_id == self.target_eni:
            return DONE
        now = {state.eni_id, state.instance_id} if state.associated else {None}
        if now & self.holders:
            return ABSENT
        raise _address_taken(self, state)

    def doing(self) -> str:
        return f"checking who holds {self.resource}"


@dataclass(frozen=True)
class AddressFree(OfAddress):
    """An Elastic IP no longer associated: the association `association_id` gone. Still
    that association: EC2 catching up; any other means someone else took the address."""

    association_id: str = ""

    def seen(self, state: Address | None) -> Seen:
        if state is None or not state.associated:  # released altogether: nothing holds it
            return DONE
        if state.association_id == self.association_id:
            return ABSENT
        raise _address_taken(self, state)

    def doing(self) -> str:
        return f"verifying {self.resource} is released"


@dataclass(frozen=True)
class EniDetached(OfEni):
    """An ENI whose attachment `attachment_id` is gone: it is available.

    Attached again to `target` (a concurrent run of the same move) also counts: the move
    goes on from there. Attached anywhere else means someone else took it.
    """

    attachment_id: str = ""
    source: str = ""
    target: str = ""

    def seen(self, state: Eni | None) -> Seen:
        if state is None:
            return ABSENT
        att = state.attachment
        if att is None:
            return DONE if state.status in ("available", "") else SETTLING
        if att.attachment_id == self.attachment_id:
            return SETTLING if att.status in ("detaching", "detached") else ABSENT
        if att.instance_id == self.target:
            return DONE
        raise _moved_away(str(self.resource), f"on {att.instance_id}", self.subject, state)

    def doing(self) -> str:
        return f"waiting for {self.resource} to detach from {self.source}"


@dataclass(frozen=True)
class EniAttached(OfEni):
    """An ENI attached (status `attached`) to `instance_id`."""

    instance_id: str = ""
    #: The instance it may still be leaving while this change waits to be sent.
    leaving: str | None = None

    def seen(self, state: Eni | None) -> Seen:
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
        raise _moved_away(str(self.resource), f"on {att.instance_id}", self.subject, state)

    def doing(self) -> str:
        return f"waiting for {self.resource} to attach to {self.instance_id}"


@dataclass(frozen=True)
class DeletesOnTermination(OfEni):
    """An ENI's current attachment has `DeleteOnTermination` set."""

    def seen(self, state: Eni | None) -> Seen:
        att = state.attachment if state is not None else None
        return DONE if att is not None and att.delete_on_termination else ABSENT

    def doing(self) -> str:
        return f"verifying DeleteOnTermination on {self.resource}"


@dataclass(frozen=True)
class IpsOn(OfEni):
    """An ENI shows all of `ips` (`present=True`) or none of them, IPv4 or IPv6."""

    ips: tuple[str, ...] = ()
    present: bool = True

    def seen(self, state: Eni | None) -> Seen:
        if state is None:
            return ABSENT
        shown = {*state.private_ips, *state.ipv6_addresses}
        ok = all((ip in shown) == self.present for ip in self.ips)
        return DONE if ok else ABSENT

    def doing(self) -> str:
        verb = "show" if self.present else "drop"
        return f"waiting for {self.resource} to {verb} {', '.join(self.ips)}"


@dataclass(frozen=True)
class RouteTo(OfRoute):
    """A route table's route for the destination targets `target` (None: no such route).

    `previous` is what the route targeted when it was read (None: there was none).
    """

    resource: RouteRef
    target: str | None = None
    previous: str | None = None

    def seen(self, state: RouteTable | None) -> Seen:
        if state is None:
            return ABSENT
        route = state.route(self.resource.destination)
        now = route.target if route is not None else None
        if now == self.target:
            return DONE
        if now == self.previous:
            return ABSENT
        raise _moved_away(
            f"the route to {self.resource.destination} in {self.resource.route_table_id}",
            f"to {now or 'nothing'}",
            self.subject,
            state,
        )

    def doing(self) -> str:
        where = self.resource
        return f"verifying {where.destination} -> {self.target} in {where.route_table_id}"


@dataclass(frozen=True)
class IpHeldBy(OfEni):
    """A private IP on `eni_id`; the ENI that holds it is read.

    `allowed` are the ENIs (None: nobody) it may still be on while EC2 catches up; any
    other ENI means someone else reassigned it.
    """

    kind: ClassVar[Kind] = "private-ip"
    resource: PrivateIp
    eni_id: str = ""
    allowed: frozenset[str | None] = frozenset()

    @classmethod
    def each(
        cls, eni: Eni, ips: Iterable[str], before: Callable[[str], str | None]
    ) -> tuple[IpHeldBy, ...]:
        """One for each of `ips` on `eni`, each allowed to be still on the ENI `before`
        names for it (or on none)."""
        return tuple(
            cls(
                PrivateIp(eni.subnet_id, ip),
                eni_id=eni.eni_id,
                allowed=frozenset({before(ip), None}),
            )
            for ip in ips
        )

    def seen(self, state: Eni | None) -> Seen:
        holder = state.eni_id if state is not None else None
        if holder == self.eni_id:
            return DONE
        if holder in self.allowed or state is None:
            return ABSENT
        ip = self.resource.ip
        raise _moved_away(ip, f"on {state.instance_id or holder}", self.subject, state, ip=ip)

    def doing(self) -> str:
        return f"verifying {self.resource.ip} on {self.eni_id}"


@dataclass(frozen=True)
class Tagged(OfEni):
    """A resource carries tag `key` = `value`."""

    key: str = ""
    value: str = ""

    def seen(self, state: Eni | None) -> Seen:
        tags = state.tags if state is not None else {}
        return DONE if tags.get(self.key) == self.value else ABSENT

    def doing(self) -> str:
        return f"verifying tag {self.key} on {self.resource}"
