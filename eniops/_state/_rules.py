"""The rules every operation shares, as pure functions of described state: the tag guard,
`expect_current`, the states an instance takes a change in, AWS-managed ENIs, an instance's
primary ENI, who holds an ENI; and `Verdicts`, how a planner meets a refusal.

Each operation's own rules live beside its planner (`_ops/remap.py`, `_ops/route.py`,
`_ops/eni.py`; `_ops/_placing.py` for where an ENI goes, `_ops/_ip_rules.py` for private IPs).
Each check raises `PreconditionFailed` (or a subclass) with its reason code, or returns what
the operation needs. Nothing here calls AWS, so every rule is tested without moto.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import ParamSpec, TypeVar

from .._core._errors import Conflict, PreconditionFailed
from .._core._inputs import UNASSOCIATED, TagGuard
from ._model import Eni, Instance

T = TypeVar("T")
P = ParamSpec("P")


class Verdicts:
    """How a planner meets a refused rule. An operation raises the first refusal: nothing
    is changed. A readiness check notes each refusal and plans on with what it can still
    build, so that every problem is listed, not only the first."""

    def __init__(self, *, collect: bool = False) -> None:
        self.collect = collect
        self.refusals: list[PreconditionFailed] = []

    def check(self, rule: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T | None:
        """Apply `rule`; its refusal is raised, or noted (then None is its answer)."""
        try:
            return rule(*args, **kwargs)
        except PreconditionFailed as refusal:
            if not self.collect:
                raise
            self.refusals.append(refusal)
            return None

    def holds(self, rule: Callable[P, object], *args: P.args, **kwargs: P.kwargs) -> bool:
        """Apply a rule that answers nothing: True when it holds (a refusal as above)."""
        count = len(self.refusals)
        self.check(rule, *args, **kwargs)
        return len(self.refusals) == count


#: States in which an instance takes an ENI (hot or warm attach).
USABLE_INSTANCE_STATES = frozenset({"running", "stopped"})
#: States in which an instance's primary ENI may receive an Elastic IP.
EIP_TARGET_STATES = frozenset({"pending", "running", "stopped"})


def tag_guard(guard: TagGuard | None, resource_id: str, tags: Mapping[str, str]) -> None:
    """`require_tag`: the resource about to change must carry the tag."""
    if guard is not None and not guard.matches(dict(tags)):
        raise PreconditionFailed(
            "tag-guard",
            f"{resource_id} does not carry the required tag {guard}",
            details={"resource": resource_id, "require_tag": str(guard), "tags": dict(tags)},
        )


def expect_current(expected: str | None, resource_id: str, holders: Iterable[str | None]) -> None:
    """`expect_current`: the instance or ENI that must hold `resource_id` now.

    `holders` are the ids (instance and ENI) holding it now; empty when nobody does.
    """
    if expected is None:
        return
    current = [h for h in holders if h]
    ok = not current if expected == UNASSOCIATED else expected in current
    if not ok:
        raise Conflict(
            "expect-mismatch",
            f"{resource_id} is held by {', '.join(current) or 'nobody'}, not {expected}",
            details={"resource": resource_id, "expected": expected, "current": current},
        )


def instance_state(instance: Instance, allowed: frozenset[str] = USABLE_INSTANCE_STATES) -> None:
    """The instance must be in a state EC2 accepts the change in."""
    if instance.state not in allowed:
        raise PreconditionFailed(
            "instance-state",
            f"{instance.instance_id} is {instance.state}, not {' or '.join(sorted(allowed))}",
            details={"instance": instance.instance_id, "state": instance.state},
        )


def not_requester_managed(eni: Eni) -> None:
    """ENIs owned by an AWS service (NAT gateway, load balancer, ...) are never touched."""
    if eni.requester_managed or eni.interface_type != "interface":
        raise PreconditionFailed(
            "requester-managed",
            f"{eni.eni_id} is managed by an AWS service ({eni.interface_type}); leave it alone",
            details={"eni": eni.eni_id, "interface_type": eni.interface_type},
        )


def same_vpc_instances(source: Instance, target: Instance) -> None:
    """``vpc-mismatch``: a standby in another VPC than the instance it stands in for."""
    if source.vpc_id and target.vpc_id and source.vpc_id != target.vpc_id:
        raise PreconditionFailed(
            "vpc-mismatch",
            f"{target.instance_id} is in {target.vpc_id}, {source.instance_id} in "
            f"{source.vpc_id}: a standby must be in the same VPC",
            details={
                "instance": source.instance_id,
                "vpc": source.vpc_id,
                "standby": target.instance_id,
                "standby_vpc": target.vpc_id,
            },
        )


def eni_holder(eni: Eni) -> str | None:
    """Who holds an ENI: the instance it is on, or, while an interrupted move is pending
    (`detaching` or `available` with an `eniops:move` tag), the instance it moves from."""
    intent = eni.intent
    if intent is not None and (eni.attachment is None or eni.detaching):
        return intent.source
    return eni.instance_id


def primary_of(instance: Instance) -> Eni:
    """An instance's primary ENI (device index 0, card 0); an instance without one (being
    terminated) is refused with ``instance-state``."""
    primary = instance.primary_eni
    if primary is None:
        raise PreconditionFailed(
            "instance-state",
            f"{instance.instance_id} ({instance.state}) has no primary network interface",
            details={"instance": instance.instance_id, "state": instance.state},
        )
    return primary
