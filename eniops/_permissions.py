"""The IAM permissions each operation needs, and the least-privilege policy built from them.

A test runs every operation under the strict moto layer, records the calls it makes and
fails if one is not declared here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ._errors import InvalidInput

_READ_ENI = ("ec2:DescribeNetworkInterfaces", "ec2:DescribeInstances", "ec2:DescribeInstanceTypes")

#: Operation name -> the EC2 actions it may call.
PERMISSIONS: dict[str, tuple[str, ...]] = {
    "remap_eip": (
        "ec2:DescribeAddresses",
        "ec2:DescribeInstances",
        "ec2:DescribeNetworkInterfaces",
        "ec2:AssociateAddress",
    ),
    "move_eni": (
        *_READ_ENI,
        "ec2:DetachNetworkInterface",
        "ec2:AttachNetworkInterface",
        "ec2:ModifyNetworkInterfaceAttribute",
    ),
    "attach_eni": (*_READ_ENI, "ec2:AttachNetworkInterface"),
    "detach_eni": ("ec2:DescribeNetworkInterfaces", "ec2:DetachNetworkInterface"),
    "add_secondary_ips": (
        *_READ_ENI,
        "ec2:DescribeSubnets",
        "ec2:AssignPrivateIpAddresses",
    ),
    "remove_secondary_ips": (
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeInstances",
        "ec2:DescribeAddresses",
        "ec2:UnassignPrivateIpAddresses",
    ),
    "describe": (
        "ec2:DescribeAddresses",
        "ec2:DescribeInstances",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeInstanceTypes",
    ),
}
PERMISSIONS["failover_instance"] = tuple(
    sorted(
        set(PERMISSIONS["remap_eip"])
        | set(PERMISSIONS["move_eni"])
        | set(PERMISSIONS["add_secondary_ips"])
    )
)

#: Actions that change state (scoped by `require_tag` in generated policies).
MUTATING_ACTIONS = frozenset(
    {
        "ec2:AssociateAddress",
        "ec2:AttachNetworkInterface",
        "ec2:DetachNetworkInterface",
        "ec2:ModifyNetworkInterfaceAttribute",
        "ec2:AssignPrivateIpAddresses",
        "ec2:UnassignPrivateIpAddresses",
    }
)

#: Command-line names of the operations (`eniops iam-policy eip-remap`).
CLI_NAMES = {
    "eip-remap": "remap_eip",
    "eni-move": "move_eni",
    "eni-attach": "attach_eni",
    "eni-detach": "detach_eni",
    "ip-add": "add_secondary_ips",
    "ip-remove": "remove_secondary_ips",
    "failover": "failover_instance",
    "show": "describe",
}


def actions_for(operations: Iterable[str] = ()) -> list[str]:
    """The sorted EC2 actions the named operations need (all operations if none named)."""
    names = list(operations) or list(PERMISSIONS)
    actions: set[str] = set()
    for name in names:
        key = CLI_NAMES.get(name, name)
        if key not in PERMISSIONS:
            raise InvalidInput(
                f"unknown operation {name!r}; known: {', '.join(sorted(PERMISSIONS))}"
            )
        actions.update(PERMISSIONS[key])
    return sorted(actions)


def iam_policy(operations: Iterable[str] = (), *, require_tag: str | None = None) -> dict[str, Any]:
    """A least-privilege IAM policy document for the named operations.

    Describe calls cannot be scoped by resource; mutating calls are scoped by the
    `require_tag` tag (``key`` or ``key=value``) when one is given.
    """
    actions = actions_for(operations)
    reads = [a for a in actions if a not in MUTATING_ACTIONS]
    writes = [a for a in actions if a in MUTATING_ACTIONS]
    statements: list[dict[str, Any]] = []
    if reads:
        statements.append(
            {"Sid": "EniopsRead", "Effect": "Allow", "Action": reads, "Resource": "*"}
        )
    if writes:
        statement: dict[str, Any] = {
            "Sid": "EniopsChange",
            "Effect": "Allow",
            "Action": writes,
            "Resource": "*",
        }
        if require_tag:
            key, _, value = require_tag.partition("=")
            statement["Condition"] = (
                {"StringEquals": {f"aws:ResourceTag/{key}": value}}
                if value
                else {"Null": {f"aws:ResourceTag/{key}": "false"}}
            )
        statements.append(statement)
    return {"Version": "2012-10-17", "Statement": statements}
