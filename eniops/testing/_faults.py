"""Faults to answer calls with, and transitions EC2 takes time over (moto makes all instant)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ._errors import Ec2Error

Holdable = Literal[
    "AttachNetworkInterface",
    "DetachNetworkInterface",
    "AssignPrivateIpAddresses",
    "UnassignPrivateIpAddresses",
    "AssignIpv6Addresses",
    "UnassignIpv6Addresses",
    "AssociateAddress",
]


@dataclass
class Fault:
    """Answer the next `times` matching calls with `error` (after carrying them out, for a
    lost answer), answer them `late_s` seconds late, or hold them `slow_s` seconds before
    they reach EC2."""

    error: Ec2Error | None
    times: int
    after_success: bool = False
    when: Callable[[Mapping[str, Any]], bool] | None = None
    late_s: float = 0.0
    #: Wait this long before the call reaches EC2 (it is not carried out until then).
    slow_s: float = 0.0


@dataclass
class Hold:
    """How long a held operation's effect stays in transition."""

    polls: int
    seconds: float


@dataclass
class Transition:
    """An effect still in transition: what describes show until it ends."""

    #: "detaching", "attaching", "assigning", "unassigning", "associating", and for IPv6
    #: "assigning6", "unassigning6".
    kind: str
    polls_left: int
    until: float
    snapshot: dict[str, Any] = field(default_factory=dict)
    ips: tuple[str, ...] = ()
    instance_id: str = ""

    def active(self) -> bool:
        """True while the transition lasts (polls or seconds, whichever is longer)."""
        return self.polls_left > 0 or time.monotonic() < self.until


class FaultBook:
    """The faults, holds and running transitions of one strict layer (thread-safe)."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._faults: dict[str, list[Fault]] = {}
        self._holds: dict[str, Hold] = {}
        self._transitions: dict[str, Transition] = {}

    def add(self, operation: str, fault: Fault) -> None:
        """Queue a fault for `operation`."""
        with self.lock:
            self._faults.setdefault(operation, []).append(fault)

    def take(self, operation: str, params: Mapping[str, Any]) -> Fault | None:
        """The fault that answers this call, if one is queued (and count it used)."""
        with self.lock:
            queued = self._faults.get(operation) or []
            fault = next((f for f in queued if f.when is None or f.when(params)), None)
            if fault is not None:
                fault.times -= 1
                if fault.times <= 0:
                    queued.remove(fault)
            return fault

    def clear(self) -> None:
        """Forget every queued fault and hold (transitions already running go on)."""
        with self.lock:
            self._faults.clear()
            self._holds.clear()

    def hold(self, operation: str, hold: Hold) -> None:
        """Hold `operation`'s effects in transition from now on."""
        with self.lock:
            self._holds[operation] = hold

    def start(self, operation: str, key: str, transition: Transition) -> None:
        """Begin a transition for `key` if `operation` is held."""
        hold = self._holds.get(operation)
        if hold is None or (hold.polls <= 0 and hold.seconds <= 0):
            return
        transition.polls_left = hold.polls
        transition.until = time.monotonic() + hold.seconds
        with self.lock:
            self._transitions[key] = transition

    def transition(self, key: str) -> Transition | None:
        """The running transition of `key`, if any."""
        with self.lock:
            found = self._transitions.get(key)
            if found is not None and not found.active():
                del self._transitions[key]
                return None
            return found

    def running(self, kind: str) -> list[Transition]:
        """Every running transition of a kind."""
        with self.lock:
            return [t for t in self._transitions.values() if t.kind == kind and t.active()]

    def end(self, key: str) -> None:
        """End `key`'s transition now (its resource changed for another reason)."""
        with self.lock:
            self._transitions.pop(key, None)

    def polled(self, transition: Transition) -> None:
        """One describe showed the transition."""
        with self.lock:
            transition.polls_left -= 1
