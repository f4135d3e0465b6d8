"""The deployable template grants exactly what the operations declare."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from eniops._registry import actions_for, mutating_actions
from eniops.aws_lambda._config import HANDLER_ACTIONS

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


def _actions(statement):
    action = statement["Action"]
    return {action} if isinstance(action, str) else set(action)


def test_role_actions_match_the_declared_permissions():
    """Reads and changes in the role are exactly `eniops iam-policy` for all operations,
    the tags among the changes granted apart (eniops:* keys only); the rest is exactly what
    the handler itself calls, besides its queue and an assumed role."""
    declared = actions_for()
    changes = {a for a in declared if a in mutating_actions()}
    tags = {"ec2:CreateTags", "ec2:DeleteTags"}
    found = {s["Sid"]: _actions(s) for s in statements()}
    assert found["EniopsRead"] == {a for a in declared if a not in mutating_actions()}
    assert found["EniopsChange"] == found["EniopsChangeTagged"] == changes - tags
    assert found["EniopsTags"] == found["EniopsTagsTagged"] == tags
    others = set().union(
        *(
            v
            for k, v in found.items()
            if not k.startswith(("EniopsRead", "EniopsChange", "EniopsTags"))
        )
    )
    assert others - {"sts:AssumeRole", "sqs:SendMessage"} == set(HANDLER_ACTIONS)


def test_tags_are_granted_for_eniops_keys_only():
    for sid in ("EniopsTags", "EniopsTagsTagged"):
        statement = next(s for s in statements() if s["Sid"] == sid)
        assert statement["Condition"]["ForAllValues:StringLike"] == {"aws:TagKeys": ["eniops:*"]}


def test_scoped_changes_carry_the_tag_condition():
    """With ScopeByTag, changes are limited to resources tagged eniops:failover=allowed."""
    for sid in ("EniopsChangeTagged", "EniopsTagsTagged"):
        scoped = next(s for s in statements() if s["Sid"] == sid)
        assert scoped["Condition"]["StringEquals"] == {"aws:ResourceTag/eniops:failover": "allowed"}
    assert template()["Parameters"]["ScopeByTag"]["Default"] == "true"


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
    """Alarms for invocation errors and throttles, events given up on, failovers done and
    refused, pairs not ready (the handler's metrics, by the Function dimension it writes)."""
    resources = template()["Resources"]
    alarms = {
        k: v["Properties"] for k, v in resources.items() if v["Type"] == "AWS::CloudWatch::Alarm"
    }
    metrics = {(a["Namespace"], a["MetricName"]) for a in alarms.values()}
    assert metrics == {
        ("AWS/Lambda", "Errors"),
        ("AWS/Lambda", "Throttles"),
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
        ("eniops", "Failovers"),
        ("eniops", "FailoverRefused"),
        ("eniops", "PairNotReady"),
    }
    for alarm in alarms.values():
        if alarm["Namespace"] == "eniops":
            assert [d["Name"] for d in alarm["Dimensions"]] == ["Function"]


def test_stateful_resources_are_kept():
    resources = template()["Resources"]
    for name in ("FailedFailovers", "FailoverLogs"):
        assert resources[name]["DeletionPolicy"] == "Retain"
        assert resources[name]["UpdateReplacePolicy"] == "Retain"


def test_a_rule_for_each_event_the_handler_acts_on():
    events = template()["Resources"]["FailoverFunction"]["Properties"]["Events"]
    kinds = {
        (
            tuple(e["Properties"]["Pattern"]["source"]),
            tuple(e["Properties"]["Pattern"]["detail-type"]),
        )
        for e in events.values()
        if e["Type"] == "EventBridgeRule"
    }
    assert kinds == {
        (("aws.ec2",), ("EC2 Instance State-change Notification",)),
        (("aws.ec2",), ("EC2 Spot Instance Interruption Warning",)),
        (("aws.ec2",), ("EC2 Instance Rebalance Recommendation",)),
        (("aws.cloudwatch",), ("CloudWatch Alarm State Change",)),
        (("aws.health",), ("AWS Health Event",)),
        (
            ("aws.autoscaling",),
            ("EC2 Instance-launch Lifecycle Action", "EC2 Instance-terminate Lifecycle Action"),
        ),
    }
    assert events["Readiness"]["Properties"]["Schedule"] == {"Ref": "ReadinessSchedule"}


def test_the_template_holds_nothing_of_one_account_or_region():
    """It deploys unchanged to every account and Region (CloudFormation StackSets): no account
    id, no Region or zone name, no ARN written out; those come from pseudo parameters."""
    text = (Path(__file__).resolve().parents[2] / "template.yaml").read_text()
    assert re.findall(r"(?<![\w-])\d{12}(?![\w-])", text) == []
    assert re.findall(r"\b(?:us|eu|ap|sa|ca|me|af|il|mx)-[a-z]+-\d[a-z]?\b", text) == []
    assert re.findall(r"arn:aws[\w-]*:[\w-]+:[a-z0-9-]+:\d", text) == []
    assert "AWS::AccountId" in text or "AWS::Region" in text or "AWS::Partition" in text
