"""What results, errors and `show` say of a resource: its identity, and one view per kind.

Nothing here calls AWS. A subject is a kind of resource and its identity; `view` turns the
state read for it into the plain data results and errors carry, and `in_words` into the
few words an error message ends with.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, TypeAlias

from .._core._json import Json, JsonDict, JsonObject
from ._model import Address, Eni
from ._routes import RouteTable

Kind = Literal["eni", "address", "route-table", "private-ip"]


@dataclass(frozen=True, order=True)
class PrivateIp:
    """A private IP's identity: IPs are unique within a subnet, not a region."""

    subnet_id: str
    ip: str

    def __str__(self) -> str:
        return self.ip


@dataclass(frozen=True, order=True)
class RouteRef:
    """One route's identity: a route table and the destination it routes."""

    route_table_id: str
    destination: str

    def __str__(self) -> str:
        return self.route_table_id


#: An ENI or allocation id, a route, or a private IP.
ResourceId: TypeAlias = "str | RouteRef | PrivateIp"
#: A resource the executor can re-read: its kind and identity.
Subject: TypeAlias = "tuple[Kind, ResourceId]"
#: What a re-read of a resource finds: the ENI (for a private IP, the ENI that holds it), the
#: Elastic IP or the route table.
State: TypeAlias = "Eni | Address | RouteTable"


def view(subject: Subject, state: State | None) -> JsonDict | None:
    """The state read for `subject` as results and errors show it (None: it does not exist)."""
    if state is None:
        return None
    if isinstance(state, RouteTable):
        _, resource = subject
        return state.summary(resource.destination if isinstance(resource, RouteRef) else "")
    return state.summary()


def _eni_words(shown: JsonObject) -> str:
    if shown.get("instance"):
        return (
            f"{shown['eni']} is {shown['attachment_status']} on {shown['instance']} "
            f"at device index {shown['device_index']}"
        )
    return f"{shown['eni']} is {shown.get('status')}, attached to nothing"


def _address_words(shown: JsonObject) -> str:
    if shown.get("eni"):
        holder = shown.get("instance") or shown["eni"]
        return f"{shown['public_ip']} is on {holder} ({shown.get('private_ip')})"
    return f"{shown['public_ip']} is associated with nothing"


def _route_words(shown: JsonObject) -> str:
    return f"{shown['route_table']}: {shown['destination']} -> {shown['target']}"


_WORDS: dict[Kind, Callable[[JsonObject], str]] = {
    "eni": _eni_words,
    "address": _address_words,
    "route-table": _route_words,
    "private-ip": _eni_words,
}


def in_words(subject: Subject, shown: object) -> str:
    """Where a resource is, in a few words (for error messages)."""
    if not isinstance(shown, Mapping):
        return str(shown)
    return _WORDS[subject[0]](shown)


@dataclass(frozen=True)
class Planned:
    """A resource's state as the plan expects it; in a result, what EC2 showed instead once
    it was read (verified)."""

    subject: Subject
    state: JsonObject


#: A value of a plan's before or after: plain data in which a resource's state may still be
#: `Planned`.
Shown: TypeAlias = (
    "Planned | bool | int | float | str | Sequence[Shown] | Mapping[str, Shown] | None"
)
#: A plan's before or after, by name (``address``, ``eni``, ``routes``...).
Described: TypeAlias = "Mapping[str, Shown]"


def resolved(data: Described, seen: Mapping[Subject, State | None]) -> JsonDict:
    """`data` (a plan's before or after) as plain data: each `Planned` state replaced by the
    view of what was read of its subject, or kept as planned when nothing was read."""

    def one(value: Shown) -> Json:
        if isinstance(value, Planned):
            state = seen.get(value.subject)
            shown = view(value.subject, state) if state is not None else None
            return shown if shown is not None else dict(value.state)
        if value is None or isinstance(value, (str, int, float)):
            return value
        if isinstance(value, Mapping):
            return {k: one(v) for k, v in value.items()}
        return [one(v) for v in value]

    return {k: one(v) for k, v in data.items()}
