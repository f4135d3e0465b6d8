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


def template():
    return yaml.load(TEMPLATE.read_text(), Loader=CfnLoader)


def statements():
    policy = template()["Resources"]["FailoverRole"]["Properties"]["Policies"][0]
    for statement in policy["PolicyDocument"]["Statement"]:
        branches = statement["If"][1:] if "If" in statement else [statement]
        yield from (b for b in branches if "Sid" in b)


def test_role_actions_match_the_declared_permissions():
    """Reads and changes in the role are exactly `eniops iam-policy` for all operations."""
    declared = actions_for()
    for statement in statements():
        if not statement["Sid"].startswith(("EniopsRead", "EniopsChange")):
            continue
        actions = set(statement["Action"])
        if statement["Sid"] == "EniopsRead":
            assert actions == {a for a in declared if a not in mutating_actions()}
        else:
            assert actions == {a for a in declared if a in mutating_actions()}


def test_scoped_changes_carry_the_tag_condition():
    """With ScopeByTag, changes are limited to resources tagged eniops:failover=allowed."""
    scoped = next(s for s in statements() if s["Sid"] == "EniopsChangeTagged")
    assert scoped["Condition"] == {"StringEquals": {"aws:ResourceTag/eniops:failover": "allowed"}}


def test_the_function_is_production_ready():
    """A failure destination, reserved concurrency by parameter, JSON logs, the bundle."""
    resources = template()["Resources"]
    function = resources["FailoverFunction"]["Properties"]
    assert function["CodeUri"] == "build/lambda/"
    assert function["ReservedConcurrentExecutions"] == {"Ref": "ReservedConcurrency"}
    assert function["LoggingConfig"]["LogFormat"] == "JSON"
    on_failure = function["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]
    assert on_failure["Destination"] == {"GetAtt": "FailedFailovers.Arn"}
    assert resources["FailedFailovers"]["Type"] == "AWS::SQS::Queue"


def test_alarms_on_errors_failures_and_failovers():
    """Alarms for invocation errors, events given up on, and failovers done (from the logs)."""
    resources = template()["Resources"]
    alarms = {
        k: v["Properties"] for k, v in resources.items() if v["Type"] == "AWS::CloudWatch::Alarm"
    }
    metrics = {(a["Namespace"], a["MetricName"]) for a in alarms.values()}
    assert metrics == {
        ("AWS/Lambda", "Errors"),
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
        ("eniops", "FailoversDone"),
    }
    metric_filter = resources["FailoversDone"]["Properties"]
    assert metric_filter["FilterPattern"] == '{ $.outcome = "changed" }'
