"""The deployable template grants exactly what the operations declare."""

from __future__ import annotations

from pathlib import Path

import yaml

from eniops._registry import actions_for, mutating_actions

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"


class CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short tags (!Ref, !If, ...) read as plain data."""


def _tagged(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {suffix: value}


CfnLoader.add_multi_constructor("!", _tagged)


def statements():
    template = yaml.load(TEMPLATE.read_text(), Loader=CfnLoader)
    policy = template["Resources"]["FailoverRole"]["Properties"]["Policies"][0]
    for statement in policy["PolicyDocument"]["Statement"]:
        if "If" in statement:
            _, scoped, unscoped = statement["If"]
            yield from (scoped, unscoped)
        else:
            yield statement


def test_role_actions_match_the_declared_permissions():
    """Reads and changes in the role are exactly `eniops iam-policy` for all operations."""
    declared = actions_for()
    for statement in statements():
        actions = set(statement["Action"])
        if statement["Sid"] == "EniopsRead":
            assert actions == {a for a in declared if a not in mutating_actions()}
        else:
            assert actions == {a for a in declared if a in mutating_actions()}


def test_scoped_changes_carry_the_tag_condition():
    """With ScopeByTag, changes are limited to resources tagged eniops:failover=allowed."""
    scoped = next(s for s in statements() if s["Sid"] == "EniopsChangeTagged")
    assert scoped["Condition"] == {"StringEquals": {"aws:ResourceTag/eniops:failover": "allowed"}}
