"""Test helpers shared across the suites."""

from __future__ import annotations


class NoCalls:
    """An EC2 client stand-in that fails the test if anything is called on it."""

    calls: list[str]

    def __init__(self) -> None:
        self.calls = []

    def __getattr__(self, name: str) -> object:
        self.calls.append(name)
        raise AssertionError(f"an AWS call ({name}) was attempted")
