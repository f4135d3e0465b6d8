"""Shared fixtures: fake credentials, an in-process moto EC2 under the strict layer."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from support import NoCalls, World, strict_world

from eniops import _imds
from eniops.testing import StrictEc2, build_lab, dual_stack, reset_caches, short_waits

REGION = "us-east-1"
#: What no log line may ever hold: the secret key every in-process test signs with, the fake
#: IMDS's token, the external ids the tests pass.
SECRETS = ("eniops-test-secret-key-never-logged", "tok-secret-123", "ext-123", "secret value!")


class _Lines(logging.Handler):
    """Every record of eniops' loggers, as text and as its fields."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.getMessage()} {getattr(record, 'fields', '')}")


@pytest.fixture(autouse=True, scope="session")
def _every_log_line() -> Iterator[_Lines]:
    """eniops logs at every level through the whole suite, and every line is kept."""
    lines = _Lines()
    loggers = [logging.getLogger(n) for n in ("eniops", "eniops.aws_lambda")]
    was = [lg.level for lg in loggers]
    for lg in loggers:
        lg.addHandler(lines)
    loggers[0].setLevel(logging.DEBUG)
    yield lines
    for lg, level in zip(loggers, was, strict=True):
        lg.removeHandler(lines)
        lg.setLevel(level)


@pytest.fixture(autouse=True)
def _no_secret_is_logged(_every_log_line: _Lines) -> Iterator[None]:
    """No log line a test makes eniops write holds a credential, token or external id."""
    first = len(_every_log_line.lines)
    yield
    leaked = [line for line in _every_log_line.lines[first:] if any(s in line for s in SECRETS)]
    assert not leaked, f"a secret in eniops' log: {leaked[0][:300]}"


@pytest.fixture(autouse=True)
def _aws_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test ever reaches a real account: fake credentials, a fixed region, fresh caches."""
    for key in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRETS[0])
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    reset_caches()
    _imds._tokens.clear()  # this process's IMDS tokens: each test's fake IMDS issues its own
    yield
    reset_caches()
    _imds._tokens.clear()


@pytest.fixture(autouse=True, scope="session")
def _every_result_fits_its_schema() -> Iterator[None]:
    """Every `Result`, `Readiness` and `Evacuation` any test makes is checked against the JSON
    Schema that ships with eniops (`eniops/schemas/output.schema.json`), as it is made: a field
    added to one and not the other fails the test that made it."""
    from output_schema import fits

    from eniops._core._result import Evacuation, Readiness, Result

    made = {
        Result: Result.__init__,
        Readiness: Readiness.__init__,
        Evacuation: Evacuation.__init__,
    }

    def checked(kind: type, original: Any) -> Any:
        def init(self: Any, *args: Any, **kwargs: Any) -> None:
            original(self, *args, **kwargs)
            fits(kind.__name__.lower(), self.to_dict())

        return init

    for kind, original in made.items():
        kind.__init__ = checked(kind, original)  # type: ignore[method-assign]
    yield
    for kind, original in made.items():
        kind.__init__ = original  # type: ignore[method-assign]


@pytest.fixture
def world() -> Iterator[World]:
    """The lab on moto under the strict layer, with short retry and poll waits."""
    with mock_aws():
        client = boto3.client("ec2", region_name=REGION)
        lab = build_lab(client)
        strict = StrictEc2(client)
        with short_waits():
            yield World(client, strict, lab)


@pytest.fixture
def world_real_waits() -> Iterator[World]:
    """Like `world`, with eniops' production retry and poll waits."""
    with mock_aws():
        client = boto3.client("ec2", region_name=REGION)
        lab = build_lab(client)
        yield World(client, StrictEc2(client), lab)


@pytest.fixture
def no_calls() -> NoCalls:
    """A client that proves no AWS call is made."""
    return NoCalls()


@pytest.fixture
def big_world() -> Iterator[World]:
    """The lab with m5.24xlarge instances (15 ENIs each), strict, short waits."""
    with strict_world("m5.24xlarge") as world:
        yield world


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--floors-elsewhere",
        action="store_true",
        help="leave the pure and ops tests to scripts/floors.py, which runs them on the "
        "lowest versions eniops declares (the test command's full run: each test once); "
        "those marked `newest` still run here",
    )
    group = parser.getgroup("chaos", "the chaos suite (tests/chaos)")
    group.addoption(
        "--chaos-size", type=int, default=500, help="random operations to run (default 500)"
    )
    group.addoption(
        "--chaos-seed", type=int, default=20261126, help="the seed that makes a run reproducible"
    )


@pytest.fixture
def dual(world: World) -> object:
    """The lab made dual-stack: subnet a's IPv6 /64 (an ipaddress network)."""
    import ipaddress

    with world.strict.internal() as client:
        ranges = dual_stack(client, world.lab)
    return ipaddress.IPv6Network(ranges[world.lab.subnet_a])


#: The suites scripts/floors.py runs on the lowest versions eniops declares.
FLOORS = ("pure", "ops")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tiers: every test outside tests/pure is `slow` (`pytest -m "not slow"` is the fast
    tier, the pure planners, rules, inputs, rendering and parser); with --floors-elsewhere
    the pure and ops tests are left to the floors' run, but those marked `newest` (they need
    a tool the floors do not install)."""
    tests = Path(__file__).resolve().parent
    elsewhere = config.getoption("--floors-elsewhere")
    kept, left = [], []
    for item in items:
        suite = item.path.resolve().relative_to(tests).parts[0]
        if suite != "pure":
            item.add_marker(pytest.mark.slow)
        if elsewhere and suite in FLOORS and item.get_closest_marker("newest") is None:
            left.append(item)
        else:
            kept.append(item)
    if left:
        config.hook.pytest_deselected(items=left)
        items[:] = kept
