"""The calls a client made, with when each started and was answered."""

from __future__ import annotations

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
