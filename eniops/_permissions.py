"""Least-privilege IAM policy documents. Pure: the actions come from the registry."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ._inputs import tag_guard


def policy_document(
    actions: Iterable[str], mutating: frozenset[str], *, require_tag: str | None = None
) -> dict[str, Any]:
    """A policy allowing `actions`; the `mutating` ones are scoped by `require_tag`.

    Describe calls cannot be scoped by resource; mutating calls are scoped by the tag
    (``key`` or ``key=value``, parsed like every operation's `require_tag`) when one is given.
    """
    guard = tag_guard(require_tag)
    wanted = sorted(set(actions))
    reads = [a for a in wanted if a not in mutating]
    writes = [a for a in wanted if a in mutating]
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
        if guard is not None:
            condition_key = f"aws:ResourceTag/{guard.key}"
            statement["Condition"] = (
                {"StringEquals": {condition_key: guard.value}}
                if guard.value is not None
                else {"Null": {condition_key: "false"}}
            )
        statements.append(statement)
    return {"Version": "2012-10-17", "Statement": statements}
