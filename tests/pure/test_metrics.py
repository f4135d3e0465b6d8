"""The Lambda's metric lines: the embedded metric format, and the billed dimensions."""

from __future__ import annotations

import json

import pytest
from judges import emf_problems

from eniops.aws_lambda import _logs


def _line(capsys, name, instance="i-0123456789abcdef0", value=1.0):
    _logs.Invocation({"correlation_id": "event-1"}).metric(name, instance, value)
    (line,) = capsys.readouterr().out.splitlines()
    return json.loads(line)


@pytest.mark.parametrize(
    "name",
    ["Failovers", "FailoverRefused", "EventsIgnored", "FailoverSeconds", "LeaseUnavailable"],
)
def test_an_event_metric_is_per_function_with_the_instance_as_a_property(capsys, name):
    """Every metric but PairNotReady has the dimension Function only: an instance id as a
    dimension would make one billed custom metric per instance that ever stopped."""
    line = _line(capsys, name)
    assert emf_problems(line) == []
    (directive,) = line["_aws"]["CloudWatchMetrics"]
    assert directive["Dimensions"] == [["Function"]]
    assert line["Instance"] == "i-0123456789abcdef0"
    assert line[name] == 1.0


def test_pair_not_ready_is_per_pair(capsys):
    """PairNotReady has the dimension Instance (bounded by the pairs), and Function for the
    template's alarm."""
    line = _line(capsys, "PairNotReady", value=0.0)
    assert emf_problems(line) == []
    (directive,) = line["_aws"]["CloudWatchMetrics"]
    assert directive["Dimensions"] == [["Instance"], ["Function"]]


def test_a_metric_of_no_instance_has_no_instance(capsys):
    """An event about no one instance: the Function dimension only, no Instance member."""
    line = _line(capsys, "PairNotReady", instance=None)
    assert emf_problems(line) == []
    assert "Instance" not in line
    assert line["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["Function"]]


GOOD = {
    "_aws": {
        "Timestamp": 1,
        "CloudWatchMetrics": [
            {"Namespace": "n", "Dimensions": [["F"]], "Metrics": [{"Name": "M", "Unit": "Count"}]}
        ],
    },
    "F": "x",
    "M": 1,
}


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda d: d.pop("_aws"), "no _aws"),
        (lambda d: d["_aws"].update(Timestamp="now"), "Timestamp"),
        (lambda d: d.pop("F"), "dimension 'F'"),
        (lambda d: d.update(M="1"), "no numeric member"),
        (lambda d: d["_aws"]["CloudWatchMetrics"][0]["Metrics"][0].update(Unit="Things"), "unit"),
        (lambda d: d["_aws"]["CloudWatchMetrics"][0].update(Namespace=""), "Namespace"),
    ],
    ids=["no-root", "timestamp", "dimension-missing", "value-text", "unit", "namespace"],
)
def test_the_format_judge_finds_what_is_wrong(change, problem):
    """The judge of the format fails a line that breaks the specification."""
    line = json.loads(json.dumps(GOOD))
    assert emf_problems(line) == []
    change(line)
    assert any(problem in p for p in emf_problems(line))
