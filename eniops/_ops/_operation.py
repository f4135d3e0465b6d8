"""The one body every operation shares: arguments, read, plan, execute, result.

A public function keeps its explicit signature (the contract) and builds, from its own
parameters by keyword, its common keywords (`Common.of`) and its typed request (a frozen
dataclass per operation, whose `of` checks the registry's argument rules for those names
and parses each value); then `run` reads the state the request needs (independent reads at
once), plans with the operation's pure ``plan_<operation>(request, state) -> Plan`` and
executes. `InvalidInput` comes before any AWS call.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar

from .. import _registry
from .._core import _inputs, _settings
from .._core._deadline import Deadline
from .._core._errors import InvalidInput
from .._core._inputs import TagGuard
from .._core._keywords import CHECK, COMMON, READ
from .._core._log import logger
from .._core._result import Mode, Result
from .._executor import Run, execute
from .._gateway import Gateway, build_client, known_regions
from .._plan import Plan
from .._state._model import Eni, Instance
from .._state._reads import Reader

if TYPE_CHECKING:
    from boto3.session import Session
    from botocore.client import BaseClient
    from mypy_boto3_ec2 import EC2Client

__all__ = [
    "CHECK",
    "COMMON",
    "READ",
    "Body",
    "Common",
    "Target",
    "check_rules",
    "run",
    "start",
]

_LOG = logger("eniops.operations")
R = TypeVar("R")
S = TypeVar("S")


@dataclass(frozen=True)
class Common:
    """The common keywords, parsed."""

    mode: Mode
    timeout_s: float
    guard: TagGuard | None
    ec2: EC2Client | None
    session: Session | None
    region: str | None
    role_arn: str | None
    external_id: str | None = None

    @classmethod
    def of(
        cls,
        name: str,
        keywords: Mapping[str, object],
        *,
        timeout_s: float,
        allowed: Iterable[str] = COMMON,
        mode: Mode | None = None,
    ) -> Common:
        """The common keywords operation `name` was called with (its ``**common``, a
        `CommonKeywords`), parsed; nothing here calls AWS. A name not `allowed` is refused as
        Python refuses an unexpected keyword; `timeout` defaults to the operation's own
        (`timeout_s`); a read or a check fixes its `mode`."""
        unexpected = sorted(set(keywords) - set(allowed))
        if unexpected:
            raise TypeError(f"{name}() got an unexpected keyword argument {unexpected[0]!r}")
        region = keywords.get("region")
        parsed = cls(
            mode=_inputs.mode(mode or keywords.get("mode", "apply")),
            timeout_s=_inputs.timeout(keywords.get("timeout", timeout_s)),
            guard=_inputs.tag_guard(keywords.get("require_tag")),
            ec2=_inputs.ec2_client(keywords.get("ec2")),
            session=_inputs.boto3_session(keywords.get("session")),
            # botocore's regions are read only when a region is named.
            region=_inputs.region(region, known_regions() if region is not None else frozenset()),
            role_arn=_inputs.role_arn(keywords.get("role_arn")),
            external_id=_inputs.external_id(keywords.get("external_id")),
        )
        if parsed.external_id is not None and parsed.role_arn is None:
            raise InvalidInput(
                "external_id goes with role_arn: the role's trust policy asks for it",
                details={"argument": "external_id"},
            )
        if parsed.ec2 is not None and parsed.role_arn is not None:
            raise InvalidInput(
                "role_arn builds its own client: pass either ec2 or role_arn, not both",
                details={"argument": "role_arn"},
            )
        return parsed


@dataclass(frozen=True)
class Body(Generic[R, S]):
    """What is particular to one operation besides its request: its reads and its planner,
    and the `timeout` it takes when none is given."""

    name: str
    read: Callable[[Run, R], S]
    plan: Callable[[R, S], Plan]
    timeout_s: float


@dataclass(frozen=True)
class Target:
    """Where an Elastic IP or a route goes: an instance (one of its ENIs, which the operation
    picks) or an ENI. Exactly one is given (the registry's rule)."""

    instance_id: str | None = None
    eni_id: str | None = None

    @classmethod
    def of(cls, *, to_instance: object, to_eni: object) -> Target:
        """Parse `to_instance` and `to_eni`, each when given."""
        return cls(
            None if to_instance is None else _inputs.instance_id(to_instance, "to_instance"),
            None if to_eni is None else _inputs.eni_id(to_eni, "to_eni"),
        )

    def read(
        self, reader: Reader, eni_of: Callable[[Instance], Eni]
    ) -> tuple[Instance | None, Eni]:
        """The target instance (None when an ENI is named) and the ENI it gives: `eni_of`
        picks an instance's (and checks the instance)."""
        if self.instance_id is not None:
            instance = reader.instance(self.instance_id)
            return instance, eni_of(instance)
        return None, reader.eni(str(self.eni_id))


def run(body: Body[R, S], request: R, common: Common) -> Result:
    """Read, plan and execute `request` (the Lambda adds to a request before it runs it)."""
    current = start(body.name, common)
    state = body.read(current, request)
    result = execute(body.plan(request, state), current)
    _warned(body.name, result)
    return result


def _warned(name: str, result: Result) -> None:
    """Each warning of a result (its children's included) at WARNING, once."""
    if not _LOG.isEnabledFor(logging.WARNING):
        return
    said = [*result.warnings, *(w for child in result.children for w in child.warnings)]
    for warning in dict.fromkeys(said):
        _LOG.warning("%s: %s", name, warning, extra={"fields": {"operation": name}})


def _given(value: object) -> bool:
    """An argument counts as given unless it is None, False, zero or empty."""
    if value is None or value is False:
        return False
    if isinstance(value, (str, list, tuple, set, frozenset, dict)):
        return len(value) > 0
    return not (isinstance(value, int) and value == 0)


def check_rules(name: str, **given: object) -> None:
    """The registry's argument rules for operation `name`, on its arguments as given by
    name: raise `InvalidInput` if one fails."""
    spec = _registry.spec_for(name)
    for group in spec.one_of:
        named = [a for a in group if _given(given.get(a))]
        if len(named) != 1:
            raise InvalidInput(
                f"{name} needs exactly one of {' and '.join(group)}"
                + (f" (got {', '.join(named)})" if named else ""),
                details={"arguments": list(group)},
            )
    for argument in spec.required:
        if not _given(given.get(argument)):
            raise InvalidInput(f"{name} needs {argument}", details={"argument": argument})
    for argument, needs in spec.requires:
        if _given(given.get(argument)) and not _given(given.get(needs)):
            raise InvalidInput(
                f"{argument} applies to {name} only with {needs}", details={"argument": argument}
            )


def gateway_for(client: BaseClient, timeout_s: float) -> Gateway:
    """A gateway on a client of any service (the Lambda's CloudWatch, Auto Scaling and
    DynamoDB calls), with eniops' retries and a deadline `timeout_s` from now."""
    settings = _settings.current()
    return Gateway(
        client,
        Deadline(timeout_s),
        policy=settings.policy,
        clock=settings.the_clock(),
        stop=settings.stop,
    )


def start(operation: str, keywords: Common) -> Run:
    """Begin a run: the deadline starts now; the client is built (never at import time)."""
    settings = _settings.current()
    deadline = Deadline(keywords.timeout_s)
    client = build_client(
        ec2=keywords.ec2,
        session=keywords.session,
        region=keywords.region,
        role_arn=keywords.role_arn,
        external_id=keywords.external_id,
        timeout_s=keywords.timeout_s,
    )
    gateway = Gateway(
        client,
        deadline,
        policy=settings.policy,
        clock=settings.the_clock(),
        stop=settings.stop,
        name=operation,
    )
    return Run(
        operation=operation,
        mode=keywords.mode,
        gateway=gateway,
        reader=Reader(gateway),
        settings=settings,
        deadline=deadline,
        ec2=client,
    )
