"""Least-privilege IAM policy documents. Pure: the actions come from the registry."""

from __future__ import annotations

from collections.abc import Iterable

from ._inputs import tag_guard
from ._json import Json, JsonDict

#: The tag actions: eniops writes and removes only its own tags (`eniops:move`,
#: `eniops:holder`, `eniops:ip-move`), so the policy lets it touch no other key.
TAG_ACTIONS = frozenset({"ec2:CreateTags", "ec2:DeleteTags"})
OWN_TAG_KEYS = {"ForAllValues:StringLike": {"aws:TagKeys": ["eniops:*"]}}


def policy_document(
    actions: Iterable[str], mutating: frozenset[str], *, require_tag: str | None = None
) -> JsonDict:
    """A policy allowing `actions`; the `mutating` ones are scoped by `require_tag`, and the
    tag actions to eniops' own keys (`aws:TagKeys`), as the Lambda's template grants them.

    Describe calls cannot be scoped by resource; mutating calls are scoped by the tag
    (``key`` or ``key=value``, parsed like every operation's `require_tag`) when one is given.
    """
    guard = tag_guard(require_tag)
    wanted = sorted(set(actions))
    reads = [a for a in wanted if a not in mutating]
    writes = [a for a in wanted if a in mutating and a not in TAG_ACTIONS]
    tags = [a for a in wanted if a in TAG_ACTIONS]
    scope: JsonDict = {}
    if guard is not None:
        condition_key = f"aws:ResourceTag/{guard.key}"
        scope = (
            {"StringEquals": {condition_key: guard.value}}
            if guard.value is not None
            else {"Null": {condition_key: "false"}}
        )
    statements: list[Json] = []
    for sid, allowed, condition in (
        ("EniopsRead", reads, {}),
        ("EniopsChange", writes, scope),
        ("EniopsTags", tags, {**scope, **OWN_TAG_KEYS}),
    ):
        if allowed:
            statement = {"Sid": sid, "Effect": "Allow", "Action": allowed, "Resource": "*"}
            statements.append({**statement, **({"Condition": condition} if condition else {})})
    return {"Version": "2012-10-17", "Statement": statements}
