"""Every operation, declared once: its name, command, arguments, their rules, IAM actions.

The command line builds its commands from here (options, which are exclusive, what
`--to-self` fills), the functions check their argument rules here, the Lambda adapter
dispatches direct invocations by it, `iam-policy` and the deployable template are generated
from it, and a test runs every operation and fails if it calls an EC2 action not declared
here. Nothing here imports an operation: each is loaded when first used.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, TypeAlias

from ._core._errors import InvalidInput
from ._core._json import JsonDict
from ._core._keywords import CHECK, COMMON, READ
from ._core._permissions import policy_document

if TYPE_CHECKING:
    from ._core._result import Evacuation, Readiness, Result
    from ._state._descriptions import Description

#: What an operation returns: a change's `Result`, a check's `Readiness`, an evacuation's
#: `Evacuation`, or `describe`'s description.
Outcome: TypeAlias = "Result | Readiness | Evacuation | Description"

TAGS = ("CreateTags", "DeleteTags")


@dataclass(frozen=True)
class OperationSpec:
    """One operation: how it is called everywhere, its argument rules, and what it may call
    in EC2. Its function is loaded when first used (`import eniops` stays cheap)."""

    name: str  # the Python function, e.g. "remap_eip"
    command: tuple[str, ...]  # the command line's words, e.g. ("eip", "remap")
    positional: str  # the name of its one positional argument
    module: str  # where the function lives, e.g. "eniops._ops.remap"
    #: Its own keyword arguments, in signature order (the common ones aside).
    keywords: tuple[str, ...]
    reads: tuple[str, ...]  # EC2 read actions
    changes: tuple[str, ...]  # EC2 mutating actions
    summary: str
    #: Keywords `--to-self` (or `self_flag`) fills with this instance's id.
    self_targets: tuple[str, ...] = ()
    self_flag: str = "--to-self"
    #: Groups of arguments of which exactly one is required.
    one_of: tuple[tuple[str, ...], ...] = ()
    #: Arguments that must be given (not empty).
    required: tuple[str, ...] = ()
    #: (argument, what it needs): an argument that applies only with another.
    requires: tuple[tuple[str, str], ...] = ()
    #: Which common keywords it takes: a change's (`CommonKeywords`), a check's
    #: (`CheckKeywords`: no mode, it sends DryRuns only) or a read's (`ReadKeywords`).
    takes: Literal["change", "check", "read"] = "change"
    #: Other services' actions it may call besides EC2's (`service:Action`).
    other_actions: tuple[str, ...] = ()
    #: The option the command line takes its positional argument by (``--zone``), if not
    #: by position.
    positional_flag: str = ""
    #: It also runs for every pair of a zone on the command line (`--zone`, `--pairs`),
    #: instead of its positional argument and target.
    zone_form: bool = False

    @property
    def mutating(self) -> bool:
        """True when it can change things (it takes `mode`)."""
        return self.takes == "change"

    @property
    def common(self) -> tuple[str, ...]:
        """The names of the common keywords it takes."""
        return {"change": COMMON, "check": CHECK, "read": READ}[self.takes]

    @property
    def function(self) -> Callable[..., Outcome]:
        """The public function (its module is imported now if it was not yet)."""
        return getattr(importlib.import_module(self.module), self.name)  # type: ignore[no-any-return]

    @property
    def policy_name(self) -> str:
        """The name `iam-policy` takes: the command's words joined by a dash."""
        return "-".join(self.command)

    @property
    def actions(self) -> tuple[str, ...]:
        """Every IAM action it needs, sorted."""
        ec2 = {f"ec2:{a}" for a in {*self.reads, *self.changes}}
        return tuple(sorted({*ec2, *self.other_actions}))


_ENI_READS = ("DescribeNetworkInterfaces", "DescribeInstances", "DescribeInstanceTypes")
_FAILOVER_READS = (*_ENI_READS, "DescribeAddresses", "DescribeRouteTables", "DescribeSubnets")
_FAILOVER_CHANGES = (
    "AssociateAddress",
    "DetachNetworkInterface",
    "AttachNetworkInterface",
    "ModifyNetworkInterfaceAttribute",
    "AssignPrivateIpAddresses",
    # a floating IPv6 address moves by unassign, then assign
    "AssignIpv6Addresses",
    "UnassignIpv6Addresses",
    "ReplaceRoute",
    *TAGS,
)

OPERATIONS: tuple[OperationSpec, ...] = (
    OperationSpec(
        "remap_eip",
        ("eip", "remap"),
        "eip",
        "eniops._ops.remap",
        ("to_instance", "to_eni", "private_ip", "expect_current", "replace_eip"),
        reads=("DescribeAddresses", "DescribeInstances", "DescribeNetworkInterfaces"),
        changes=("AssociateAddress", *TAGS),
        summary="move an Elastic IP in one call, guarded and verified",
        self_targets=("to_instance",),
        one_of=(("to_instance", "to_eni"),),
    ),
    OperationSpec(
        "move_eni",
        ("eni", "move"),
        "eni",
        "eniops._ops.eni",
        (
            "to_instance",
            "device_index",
            "expect_current",
            "force_detach",
            "allow_same_subnet",
            "rollback",
        ),
        reads=_ENI_READS,
        changes=(
            "DetachNetworkInterface",
            "AttachNetworkInterface",
            "ModifyNetworkInterfaceAttribute",
            *TAGS,
        ),
        summary="detach, attach elsewhere, verify (rolls back; a re-run resumes)",
        self_targets=("to_instance",),
        one_of=(("to_instance",),),
    ),
    OperationSpec(
        "attach_eni",
        ("eni", "attach"),
        "eni",
        "eniops._ops.eni",
        ("instance", "device_index", "allow_same_subnet"),
        reads=_ENI_READS,
        changes=("AttachNetworkInterface", "ModifyNetworkInterfaceAttribute", *TAGS),
        summary="attach an available ENI",
        self_targets=("instance",),
        one_of=(("instance",),),
    ),
    OperationSpec(
        "detach_eni",
        ("eni", "detach"),
        "eni",
        "eniops._ops.eni",
        ("expect_current", "force"),
        reads=("DescribeNetworkInterfaces",),
        changes=("DetachNetworkInterface", *TAGS),
        summary="detach a secondary ENI",
    ),
    OperationSpec(
        "add_secondary_ips",
        ("ip", "add"),
        "target",
        "eniops._ops.ips",
        ("ips", "count", "allow_reassignment", "expect_current"),
        reads=(*_ENI_READS, "DescribeSubnets", "DescribeAddresses"),
        # an IPv6 address moves between ENIs by unassign, then assign
        changes=("AssignPrivateIpAddresses", "AssignIpv6Addresses", "UnassignIpv6Addresses", *TAGS),
        summary="add secondary private IPs (additive)",
        one_of=(("ips", "count"),),
        requires=(("expect_current", "allow_reassignment"),),
    ),
    OperationSpec(
        "remove_secondary_ips",
        ("ip", "remove"),
        "target",
        "eniops._ops.ips",
        ("ips",),
        reads=("DescribeNetworkInterfaces", "DescribeInstances", "DescribeAddresses"),
        changes=("UnassignPrivateIpAddresses", "UnassignIpv6Addresses"),
        summary="remove secondary private IPs",
        required=("ips",),
    ),
    OperationSpec(
        "failover_instance",
        ("failover",),
        "from_instance",
        "eniops._ops.failover",
        ("to_instance", "ips"),
        reads=_FAILOVER_READS,
        changes=_FAILOVER_CHANGES,
        summary="move an instance's Elastic IPs, ENIs and routes to its standby",
        self_targets=("to_instance",),
        one_of=(("to_instance",),),
    ),
    OperationSpec(
        "move_route",
        ("route", "move"),
        "destination",
        "eniops._ops.route",
        ("to_instance", "to_eni", "route_tables", "expect_current", "rollback"),
        reads=("DescribeRouteTables", "DescribeInstances", "DescribeNetworkInterfaces"),
        changes=("ReplaceRoute", "CreateRoute", "DeleteRoute"),
        summary="point an overlay IP's routes at another instance (across zones)",
        self_targets=("to_instance",),
        one_of=(("to_instance", "to_eni"),),
    ),
    OperationSpec(
        "describe",
        ("show",),
        "resource_id",
        "eniops._ops.describe",
        (),
        reads=(
            "DescribeAddresses",
            "DescribeInstances",
            "DescribeNetworkInterfaces",
            "DescribeInstanceTypes",
            "DescribeRouteTables",
        ),
        changes=(),
        summary="what an operator needs to see before a move",
        takes="read",
    ),
    OperationSpec(
        "release_eip",
        ("eip", "release"),
        "eip",
        "eniops._ops.release",
        ("expect_current",),
        reads=("DescribeAddresses", "DescribeNetworkInterfaces"),
        changes=("DisassociateAddress", *TAGS),
        summary="disassociate an Elastic IP, only from the holder named (HA stop, maintenance)",
        self_targets=("expect_current",),
        self_flag="--from-self",
        one_of=(("expect_current",),),
    ),
    OperationSpec(
        "check_failover",
        ("check",),
        "from_instance",
        "eniops._ops.readiness",
        ("to_instance", "ips"),
        reads=(*_FAILOVER_READS, "DescribeInstanceStatus", "DescribeAvailabilityZones"),
        changes=_FAILOVER_CHANGES,  # each sent with DryRun=True only: IAM must allow it
        summary="would a failover work now? every problem listed; changes nothing",
        self_targets=("to_instance",),
        one_of=(("to_instance",),),
        takes="check",
        zone_form=True,
    ),
    OperationSpec(
        "evacuate",
        ("evacuate",),
        "zone",
        "eniops._ops.evacuate",
        ("pairs",),
        reads=("DescribeAvailabilityZones", *_FAILOVER_READS),
        changes=_FAILOVER_CHANGES,
        summary="fail over every pair whose active instance is in a zone",
        positional_flag="--zone",
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


def self_option_group(spec: OperationSpec) -> tuple[str, ...] | None:
    """The group of exactly-one arguments `--to-self` joins on the command line, if any."""
    if not spec.self_targets:
        return None
    return next((g for g in spec.one_of if spec.self_targets[0] in g), None)


def iam_policy(operations: Iterable[str] = (), *, require_tag: str | None = None) -> JsonDict:
    """A least-privilege IAM policy document for the named operations (all if none)."""
    return policy_document(actions_for(operations), mutating_actions(), require_tag=require_tag)
