"""Every operation, declared once: its name, command, positional argument and IAM actions.

The command line builds its commands from here, the Lambda adapter dispatches direct
invocations by it, `iam-policy` and the deployable template are generated from it, and a
test runs every operation and fails if it calls an EC2 action not declared here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ._errors import InvalidInput
from ._ops.describe import describe
from ._ops.eni import attach_eni, detach_eni, move_eni
from ._ops.failover import failover_instance
from ._ops.ips import add_secondary_ips, remove_secondary_ips
from ._ops.remap import remap_eip
from ._ops.route import move_route
from ._permissions import policy_document

TAGS = ("CreateTags", "DeleteTags")


@dataclass(frozen=True)
class OperationSpec:
    """One operation: how it is called everywhere, and what it may call in EC2."""

    name: str  # the Python function, e.g. "remap_eip"
    command: tuple[str, ...]  # the command line's words, e.g. ("eip", "remap")
    positional: str  # the name of its one positional argument
    function: Callable[..., Any]
    reads: tuple[str, ...]  # EC2 read actions
    changes: tuple[str, ...]  # EC2 mutating actions
    summary: str
    #: Keywords `--to-self` fills with this instance's id.
    self_targets: tuple[str, ...] = ()

    @property
    def policy_name(self) -> str:
        """The name `iam-policy` takes: the command's words joined by a dash."""
        return "-".join(self.command)

    @property
    def actions(self) -> tuple[str, ...]:
        """Every IAM action it needs, sorted."""
        return tuple(sorted(f"ec2:{a}" for a in {*self.reads, *self.changes}))

    @property
    def mutating(self) -> bool:
        """True when it changes anything."""
        return bool(self.changes)


_ENI_READS = ("DescribeNetworkInterfaces", "DescribeInstances", "DescribeInstanceTypes")

OPERATIONS: tuple[OperationSpec, ...] = (
    OperationSpec(
        "remap_eip",
        ("eip", "remap"),
        "eip",
        remap_eip,
        reads=("DescribeAddresses", "DescribeInstances", "DescribeNetworkInterfaces"),
        changes=("AssociateAddress", *TAGS),
        summary="move an Elastic IP in one call, guarded and verified",
        self_targets=("to_instance",),
    ),
    OperationSpec(
        "move_eni",
        ("eni", "move"),
        "eni",
        move_eni,
        reads=_ENI_READS,
        changes=(
            "DetachNetworkInterface",
            "AttachNetworkInterface",
            "ModifyNetworkInterfaceAttribute",
            *TAGS,
        ),
        summary="detach, attach elsewhere, verify (rolls back; a re-run resumes)",
        self_targets=("to_instance",),
    ),
    OperationSpec(
        "attach_eni",
        ("eni", "attach"),
        "eni",
        attach_eni,
        reads=_ENI_READS,
        changes=("AttachNetworkInterface", "ModifyNetworkInterfaceAttribute", *TAGS),
        summary="attach an available ENI",
        self_targets=("instance",),
    ),
    OperationSpec(
        "detach_eni",
        ("eni", "detach"),
        "eni",
        detach_eni,
        reads=("DescribeNetworkInterfaces",),
        changes=("DetachNetworkInterface", "DeleteTags"),
        summary="detach a secondary ENI",
    ),
    OperationSpec(
        "add_secondary_ips",
        ("ip", "add"),
        "target",
        add_secondary_ips,
        reads=(*_ENI_READS, "DescribeSubnets", "DescribeAddresses"),
        changes=("AssignPrivateIpAddresses", *TAGS),
        summary="add secondary private IPs (additive)",
    ),
    OperationSpec(
        "remove_secondary_ips",
        ("ip", "remove"),
        "target",
        remove_secondary_ips,
        reads=("DescribeNetworkInterfaces", "DescribeInstances", "DescribeAddresses"),
        changes=("UnassignPrivateIpAddresses",),
        summary="remove secondary private IPs",
    ),
    OperationSpec(
        "failover_instance",
        ("failover",),
        "from_instance",
        failover_instance,
        reads=(*_ENI_READS, "DescribeAddresses", "DescribeRouteTables"),
        changes=(
            "AssociateAddress",
            "DetachNetworkInterface",
            "AttachNetworkInterface",
            "ModifyNetworkInterfaceAttribute",
            "AssignPrivateIpAddresses",
            "ReplaceRoute",
            *TAGS,
        ),
        summary="move an instance's Elastic IPs, ENIs and routes to its standby",
        self_targets=("to_instance",),
    ),
    OperationSpec(
        "move_route",
        ("route", "move"),
        "destination",
        move_route,
        reads=("DescribeRouteTables", "DescribeInstances", "DescribeNetworkInterfaces"),
        changes=("ReplaceRoute", "CreateRoute", "DeleteRoute"),
        summary="point an overlay IP's routes at another instance (across zones)",
        self_targets=("to_instance",),
    ),
    OperationSpec(
        "describe",
        ("show",),
        "resource_id",
        describe,
        reads=(
            "DescribeAddresses",
            "DescribeInstances",
            "DescribeNetworkInterfaces",
            "DescribeInstanceTypes",
            "DescribeRouteTables",
        ),
        changes=(),
        summary="what an operator needs to see before a move",
    ),
)

BY_NAME = {spec.name: spec for spec in OPERATIONS}
BY_POLICY_NAME = {spec.policy_name: spec for spec in OPERATIONS}


def spec_for(name: str) -> OperationSpec:
    """The operation called `name` (``remap_eip`` or its command name ``eip-remap``)."""
    spec = BY_NAME.get(name) or BY_POLICY_NAME.get(name)
    if spec is None:
        known = ", ".join(sorted(BY_POLICY_NAME))
        raise InvalidInput(f"unknown operation {name!r}; known: {known}")
    return spec


def actions_for(operations: Iterable[str] = ()) -> list[str]:
    """The sorted IAM actions the named operations need (all operations if none named)."""
    names = list(operations) or [spec.name for spec in OPERATIONS]
    return sorted({action for name in names for action in spec_for(name).actions})


def mutating_actions() -> frozenset[str]:
    """Every action an operation declares as a change."""
    return frozenset(f"ec2:{a}" for spec in OPERATIONS for a in spec.changes)


def iam_policy(operations: Iterable[str] = (), *, require_tag: str | None = None) -> dict[str, Any]:
    """A least-privilege IAM policy document for the named operations (all if none)."""
    return policy_document(actions_for(operations), mutating_actions(), require_tag=require_tag)
