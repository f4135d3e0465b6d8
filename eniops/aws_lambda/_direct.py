"""A direct invocation: ``{"operation": "<name>", "args": {...}}`` runs that operation of the
registry (`check_failover` and `release_eip` included), with the function's own client,
tag guard and deadline: a direct invocation can neither switch ``ENIOPS_REQUIRE_TAG`` off
nor stretch the deadline."""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import TYPE_CHECKING

from .._core._errors import InvalidInput
from .._core._json import JsonDict
from .._core._result import Evacuation, Result
from .._registry import BY_NAME
from .._state._descriptions import as_json
from ._act import Call, evacuate, moved
from ._config import REQUIRE_TAG_ENV

if TYPE_CHECKING:
    from .._registry import OperationSpec, Outcome


def direct(call: Call, event: Mapping[str, object], forbidden: frozenset[str]) -> JsonDict:
    """Run the operation an event names; its Result (or Readiness, or view) as the answer."""

    name, args = event.get("operation"), event.get("args", {})
    spec = BY_NAME.get(name) if isinstance(name, str) else None
    call.invocation.add(operation=str(name)[:80])
    if spec is None or not isinstance(args, Mapping):
        raise InvalidInput(
            f"operation {str(name)[:80]!r} with args {type(args).__name__}: expected one of "
            f"{', '.join(sorted(BY_NAME))} and an object of arguments"
        )
    resource, kwargs = _arguments(call, spec, args, forbidden)
    outcome: Outcome
    if spec.name == "evacuate":  # each pair under its lease, as an event's failover
        outcome = evacuate(call, resource, kwargs)
    else:
        outcome = spec.function(resource, ec2=call.client("ec2"), **kwargs)
    if isinstance(outcome, Evacuation):
        call.invocation.add(
            outcome=f"{outcome.moved} moved, {outcome.unchanged} unchanged, "
            f"{outcome.refused} refused, {outcome.failed} failed"
        )
    elif isinstance(outcome, Result):
        call.invocation.add(
            moved=moved(outcome), outcome="changed" if outcome.changed else "unchanged"
        )
    else:
        call.invocation.add(outcome="read")
    return {"ok": True, **(as_json(outcome) if isinstance(outcome, dict) else outcome.to_dict())}


def _arguments(
    call: Call, spec: OperationSpec, args: Mapping[str, object], forbidden: frozenset[str]
) -> tuple[object, dict[str, object]]:
    """A direct invocation's arguments, checked: its own names only, no client of its own,
    the function's tag guard and deadline (neither switched off nor stretched)."""
    kwargs = dict(args)
    if spec.positional not in kwargs:
        raise InvalidInput(f"{spec.name} needs args.{spec.positional}")
    refused = sorted(forbidden & set(kwargs))
    if refused:
        raise InvalidInput(f"{spec.name}: {', '.join(refused)} are the function's own, not args")
    known = {spec.positional, *spec.keywords, *spec.common}
    unknown = sorted(str(k) for k in set(kwargs) - known)
    if unknown:
        raise InvalidInput(f"{spec.name}: {unknown[0][:80]!r} is not one of its arguments")
    resource = kwargs.pop(spec.positional)
    configured = call.config.require_tag
    if configured is not None and "require_tag" in spec.common:
        if kwargs.get("require_tag", configured) != configured:
            raise InvalidInput(f"require_tag is {configured!r} here ({REQUIRE_TAG_ENV})")
        kwargs["require_tag"] = configured
    left = call.deadline.left(spec.name)
    wanted = kwargs.get("timeout", left)
    if isinstance(wanted, (int, float)) and not isinstance(wanted, bool) and wanted > left:
        wanted = left  # a direct invocation cannot stretch the deadline
    kwargs["timeout"] = wanted
    for key in ("ips", "route_tables"):
        given = kwargs.get(key)
        if isinstance(given, list):
            kwargs[key] = tuple(given)
    parameters = inspect.signature(spec.function).parameters.values()
    required = [p.name for p in parameters if p.kind is p.KEYWORD_ONLY and p.default is p.empty]
    missing = [k for k in required if k not in kwargs]
    if missing:
        raise InvalidInput(f"{spec.name} needs args.{missing[0]}")
    return resource, kwargs
