"""The calls a client made, with when each started and was answered."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: EC2 operations that change state.
MUTATING_OPERATIONS = frozenset(
    {
        "AssociateAddress",
        "DisassociateAddress",
        "AttachNetworkInterface",
        "DetachNetworkInterface",
        "ModifyNetworkInterfaceAttribute",
        "AssignPrivateIpAddresses",
        "UnassignPrivateIpAddresses",
        "AssignIpv6Addresses",
        "UnassignIpv6Addresses",
        "CreateTags",
        "DeleteTags",
        "CreateRoute",
        "ReplaceRoute",
        "DeleteRoute",
    }
)


@dataclass
class Call:
    """One EC2 call the client made (as the code under test passed it)."""

    operation: str
    params: Mapping[str, Any]
    at: float
    #: When its answer arrived (0.0 while in flight, or when no answer came).
    ended: float = 0.0
    #: The error code it was answered with, if any.
    error: str | None = None

    @property
    def dry_run(self) -> bool:
        """True for a `DryRun=True` call."""
        return bool(self.params.get("DryRun"))

    @property
    def mutating(self) -> bool:
        """True for a call that changes state (a DryRun included)."""
        return self.operation in MUTATING_OPERATIONS


def send(latency_s: float) -> float:
    """A call's way to the service: half its round trip of `latency_s`. Returns when its
    answer is due (`answer` waits for that)."""
    due = time.monotonic() + latency_s
    if latency_s:
        time.sleep(latency_s / 2)
    return due


def answer(due: float | None) -> None:
    """A call's answer arrives when it is `due`, or at once if the service's own work ran
    past that. The service's work (here moto's and the strict layer's, one call at a time
    under the GIL and the layer's lock) happens inside the round trip, as EC2's does, and
    calls in flight together share it: a round trip costs its latency, not the latency plus
    every concurrent call's simulated work in turn."""
    rest = 0.0 if due is None else due - time.monotonic()
    if rest > 0:
        time.sleep(rest)


def round_trips(calls: list[Call]) -> int:
    """How many waits for EC2 `calls` cost: calls in flight together count once."""
    waves = 0
    wave_end = float("-inf")
    for call in sorted(calls, key=lambda c: c.at):
        if call.at >= wave_end:
            waves += 1
            wave_end = call.ended or call.at
        else:
            wave_end = max(wave_end, call.ended or call.at)
    return waves


class Recorder:
    """Every call a boto3 client of any service makes, each a round trip of `latency_s` with
    the service's work inside it (`send`, `answer`): for counting a Lambda's round trips
    across EC2, CloudWatch and DynamoDB. EC2 clients have `StrictEc2`, which records its
    calls the same way."""

    def __init__(self, client: Any, *, latency_s: float = 0.0) -> None:
        self.latency_s = latency_s
        self.calls: list[Call] = []
        self._lock = threading.Lock()
        events = client.meta.events
        events.register("before-parameter-build", self._params)
        events.register("before-call", self._before)
        events.register("after-call", self._after)

    def _params(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["recorded_params"] = dict(params)

    def _before(self, model: Any, context: dict[str, Any], **_: Any) -> None:
        call = Call(model.name, context.get("recorded_params", {}), time.monotonic())
        with self._lock:
            self.calls.append(call)
        context["recorded_call"] = call
        context["recorded_due"] = send(self.latency_s)

    def _after(self, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        answer(context.pop("recorded_due", None))
        call = context.get("recorded_call")
        if call is not None:
            call.ended = time.monotonic()
            call.error = (parsed.get("Error") or {}).get("Code")

    def count(self, operation: str) -> int:
        """How many calls of `operation` were made."""
        return sum(1 for call in self.calls if call.operation == operation)
