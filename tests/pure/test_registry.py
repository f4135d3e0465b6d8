"""One registry drives the command line, the Lambda adapter and iam-policy."""

from __future__ import annotations

import argparse
import inspect

import pytest

import eniops
from eniops import _registry, aws_lambda
from eniops._core import _keywords
from eniops.cli import _options as _cli_options
from eniops.cli import _parser as _cli_parser

OPERATION_FUNCTIONS = sorted(
    name
    for name in eniops.__all__
    if callable(getattr(eniops, name))
    and not isinstance(getattr(eniops, name), type)
    and not name.startswith("_")
)


#: The common keywords (passed as ``**common``, not in a signature).
COMMON = set(_keywords.COMMON)


def test_every_public_operation_is_registered_once():
    """Each operation function of `eniops` is declared in the registry, and nothing else;
    its positional argument and own keywords are the function's, in signature order."""
    assert sorted(_registry.BY_NAME) == OPERATION_FUNCTIONS
    for spec in _registry.OPERATIONS:
        assert spec.function is getattr(eniops, spec.name)
        parameters = list(inspect.signature(spec.function).parameters.values())
        assert parameters[0].name == spec.positional
        own = [p.name for p in parameters[1:] if p.kind is p.KEYWORD_ONLY]
        assert tuple(own) == spec.keywords, spec.name


def _commands(parser, words=()):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for word, sub in action.choices.items():
                yield from _commands(sub, (*words, word))
    if words:
        yield words, parser


@pytest.mark.parametrize("spec", _registry.OPERATIONS, ids=lambda s: s.name)
def test_every_operation_has_its_command_and_options(spec):
    """The command line has the operation's command, and an option for each keyword."""
    commands = dict(_commands(_cli_parser.build_parser()))
    parser = commands[spec.command]
    flags = {flag for action in parser._actions for flag in action.option_strings}
    for name in spec.keywords:
        assert _cli_options.OPTIONS[name].flag in flags, name
    assert ({"--plan", "--dry-run"} <= flags) == spec.mutating
    assert ("--require-tag" in flags) == ("require_tag" in spec.common)


@pytest.mark.parametrize("spec", _registry.OPERATIONS, ids=lambda s: s.name)
def test_every_operation_is_dispatched_by_the_lambda(spec):
    """A direct invocation names any registered operation (here: missing its argument)."""
    result = aws_lambda.handler({"operation": spec.name, "args": {}}, None)
    assert result["ok"] is False
    assert f"args.{spec.positional}" in result["error"]["message"]


@pytest.mark.parametrize("spec", _registry.OPERATIONS, ids=lambda s: s.name)
def test_every_operation_has_a_policy(spec):
    """iam-policy knows each operation by its command name; reads and changes split."""
    policy = _registry.iam_policy([spec.policy_name])
    allowed = {a for s in policy["Statement"] for a in s["Action"]}
    assert allowed == set(spec.actions)
    changes = {a for s in policy["Statement"] if s["Sid"] != "EniopsRead" for a in s["Action"]}
    assert bool(changes) == bool(spec.changes)


@pytest.mark.parametrize("require_tag", [None, "eniops:failover=allowed", "ha"])
def test_the_policy_lets_eniops_write_its_own_tags_only(require_tag):
    """CreateTags and DeleteTags only for tag keys `eniops:*` (aws:TagKeys), as the template
    grants them; with require_tag, on the tagged resources too. Other changes: not keyed."""
    policy = _registry.iam_policy(require_tag=require_tag)
    (tags,) = [s for s in policy["Statement"] if s["Sid"] == "EniopsTags"]
    assert sorted(tags["Action"]) == ["ec2:CreateTags", "ec2:DeleteTags"]
    assert tags["Condition"]["ForAllValues:StringLike"] == {"aws:TagKeys": ["eniops:*"]}
    (changes,) = [s for s in policy["Statement"] if s["Sid"] == "EniopsChange"]
    assert "ec2:CreateTags" not in changes["Action"]
    assert "ForAllValues:StringLike" not in changes.get("Condition", {})
    if require_tag is not None:
        for statement in (tags, changes):
            assert set(statement["Condition"]) - {"ForAllValues:StringLike"} in (
                {"StringEquals"},
                {"Null"},
            )


def test_unknown_operation_is_invalid_input():
    """iam-policy of an unknown name says which names exist."""
    with pytest.raises(eniops.InvalidInput, match="eip-remap"):
        _registry.iam_policy(["nope"])


def test_every_operations_docstring_lists_its_arguments():
    """Each public operation's docstring names each of its own arguments and each common
    keyword it takes (a user reads `help(eniops.remap_eip)`, not the TypedDict)."""
    import inspect

    for spec in _registry.OPERATIONS:
        doc = inspect.getdoc(spec.function) or ""
        params = inspect.signature(spec.function).parameters.values()
        own = [p.name for p in params if p.kind is not p.VAR_KEYWORD]
        keywords = {"describe": _keywords.READ, "check_failover": _keywords.CHECK}
        for name in [*own, *keywords.get(spec.name, _keywords.COMMON)]:
            assert name in doc, (spec.name, name)


def test_each_set_of_keywords_names_its_typed_dicts_keys():
    """The names the registry and the docs check against are the keys mypy checks callers
    against: a read's, a check's (a read's and the tag guard) and a change's."""
    assert set(_keywords.READ) == set(_keywords.ReadKeywords.__annotations__)
    assert set(_keywords.CHECK) == set(_keywords.CheckKeywords.__annotations__)
    assert set(_keywords.COMMON) == set(_keywords.CommonKeywords.__annotations__)
    assert len(set(_keywords.COMMON)) == len(_keywords.COMMON)
