"""The Lambda handler with recorded-shape events and a fake context: what it acts on, what
it ignores, its answers, logs and metrics, its deadline and its client."""

from __future__ import annotations

import json
import time

import pytest
from conftest import FakeContext
from judges import emf_problems

import eniops
from eniops import aws_lambda
from eniops._core import _codes
from eniops.aws_lambda import _config
from eniops.testing import Recorder, put_alarm, round_trips


def event(name, instance_id, **more):
    return aws_lambda.sample_event(name.removesuffix(".json"), instance_id, **more)


def lines(capsys):
    """Every JSON line the handler wrote: (log lines, metric lines)."""
    found = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
    return [f for f in found if "_aws" not in f], [f for f in found if "_aws" in f]


def metrics(found):
    """The metrics of EMF lines, as (name, instance, value), each line checked against the
    embedded metric format and against which metric may have the dimension `Instance`."""
    named = []
    for line in found:
        assert emf_problems(line) == [], line
        (directive,) = line["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "eniops"
        for metric in directive["Metrics"]:
            per_instance = ["Instance"] in directive["Dimensions"]
            assert per_instance == (metric["Name"] == "PairNotReady"), line
            assert ["Function"] in directive["Dimensions"]
            named.append((metric["Name"], line.get("Instance"), line[metric["Name"]]))
    return sorted(named)


@pytest.mark.parametrize(
    "name",
    [
        "ec2-state-change-stopped",
        "cloudwatch-alarm-state-change",
        "cloudwatch-alarm-lambda-action",
        "ec2-spot-interruption-warning",
    ],
)
def test_an_event_fails_over_to_the_tagged_standby(lam, name, capsys):
    """A stopped instance, a status-check alarm (through EventBridge or its own Lambda
    action), a Spot interruption warning: everything moves to the tagged standby, one log
    line says so and the failover is counted."""
    if name.startswith("ec2-state-change"):
        lam.client.stop_instances(InstanceIds=[lam.lab.active])
    if name.startswith("cloudwatch"):
        _alarm(lam, "instance-status-check", "ALARM")
    result = aws_lambda.handler(event(name, lam.lab.active), FakeContext())
    assert (result["ok"], result["operation"], result["changed"]) == (
        True,
        "failover_instance",
        True,
    )
    assert lam.address()["InstanceId"] == lam.lab.standby
    logs, found = lines(capsys)
    (line,) = logs
    assert (line["outcome"], line["level"]) == ("changed", "INFO")
    assert (line["instance"], line["standby"]) == (lam.lab.active, lam.lab.standby)
    named = [(n, i) for n, i, _ in metrics(found)]
    assert named == [("FailoverSeconds", lam.lab.active), ("Failovers", lam.lab.active)]


def _spot_sent(lam, seconds_ago):
    warning = event("ec2-spot-interruption-warning", lam.lab.active)
    sent = time.gmtime(time.time() - seconds_ago)
    return {**warning, "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", sent)}


@pytest.mark.parametrize("seconds_ago", [6 * 60, 6 * 3600], ids=["6-minutes", "6-hours"])
def test_a_replayed_spot_warning_is_stale_and_changes_nothing(lam, seconds_ago, capsys):
    """A Spot interruption warning older than its five-minute window (Lambda retries an
    event for up to six hours) is a replay: ignored as stale, counted, no AWS call at all,
    and the running instance keeps everything it carries."""
    lam.strict.reset_calls()
    result = aws_lambda.handler(_spot_sent(lam, seconds_ago), FakeContext())
    assert result["ok"] is True
    assert result["ignored"].startswith("stale")
    assert lam.strict.calls == []
    assert lam.address()["InstanceId"] == lam.lab.active
    _, found = lines(capsys)
    assert [n for n, _, _ in metrics(found)] == ["EventsIgnored"]


def test_a_spot_warning_within_its_window_fails_over(lam):
    """Four minutes old: still a warning (the instance goes in about two), acted on."""
    result = aws_lambda.handler(_spot_sent(lam, 4 * 60), FakeContext())
    assert (result["ok"], result["changed"]) == (True, True)
    assert lam.address()["InstanceId"] == lam.lab.standby


def test_a_spot_warning_without_a_time_is_invalid(lam):
    """A Spot warning whose time does not read: a malformed event (ok: false), no call."""
    lam.strict.reset_calls()
    result = aws_lambda.handler({**_spot_sent(lam, 0), "time": "yesterday"}, FakeContext())
    assert result["ok"] is False
    assert result["error"]["type"] == "InvalidInput"
    assert lam.strict.calls == []


def _alarm(world, name, state, **metric):
    put_alarm(world.clients["cloudwatch"], world.lab.active, name, state, **metric)


def _renamed(raw, name, metric=None):
    text = json.dumps(raw).replace("instance-status-check", name)
    if metric is not None:
        text = text.replace('"StatusCheckFailed"', json.dumps(metric))
    return json.loads(text)


@pytest.mark.parametrize(
    ("make", "why"),
    [
        (lambda w: event("ec2-state-change-running", w.lab.active), "is not a failure"),
        (lambda w: event("cloudwatch-alarm-ok", w.lab.active), "not ALARM"),
        (lambda w: event("cloudwatch-alarm-cpu", w.lab.active), "neither an EC2 status check"),
        (lambda w: event("ec2-state-change-stopped", w.lab.far), "no standby"),
        (
            lambda w: {**event("ec2-state-change-stopped", w.lab.active), "source": "my.app"},
            "not an event eniops acts on",
        ),
        (lambda w: {"source": "aws.s3", "detail-type": "Object Created"}, "not an event"),
    ],
    ids=["running", "alarm-ok", "cpu-alarm", "no-standby", "custom-source", "other-service"],
)
def test_what_is_not_a_failure_of_a_pair_is_ignored(lam, make, why, capsys):
    """Ignored at INFO with why, counted, nothing changed and nothing asked of EC2 beyond
    the standby lookup."""
    lam.strict.reset_calls()
    result = aws_lambda.handler(make(lam), FakeContext())
    assert result["ok"] is True
    assert why in result["ignored"]
    assert lam.strict.mutations == []
    assert {c.operation for c in lam.strict.calls} <= {"DescribeInstances"}
    logs, found = lines(capsys)
    assert [(line["level"], line["outcome"]) for line in logs] == [("INFO", "ignored")]
    assert [n for n, _, _ in metrics(found)] == ["EventsIgnored"]


def test_an_alarm_named_with_the_prefix_acts_whatever_its_metric(lam, monkeypatch):
    """ENIOPS_ALARM_PREFIX (default eniops-): an alarm so named acts on its InstanceId."""
    cpu = event("cloudwatch-alarm-cpu", lam.lab.active)
    _alarm(lam, "eniops-web-health", "ALARM", metric="CPUUtilization")
    named = _renamed(cpu, "eniops-web-health")
    named["detail"]["alarmName"] = "eniops-web-health"
    assert aws_lambda.handler(named, FakeContext())["changed"] is True
    monkeypatch.setenv(_config.ALARM_PREFIX_ENV, "ops-")
    assert "ignored" in aws_lambda.handler(named, FakeContext())


def test_an_alarm_naming_two_instances_is_ignored(lam):
    raw = event("cloudwatch-alarm-state-change", lam.lab.active)
    metric = raw["detail"]["configuration"]["metrics"][0]
    second = json.loads(json.dumps(metric).replace(lam.lab.active, lam.lab.far))
    raw["detail"]["configuration"]["metrics"].append(second)
    result = aws_lambda.handler(raw, FakeContext())
    assert "names 2 instances" in result["ignored"]
    assert lam.strict.mutations == []


def test_a_stopped_event_for_a_running_instance_is_stale(lam, capsys):
    """The event says stopped, the instance runs again when the handler reads: nothing
    moves; the state is re-read in the failover's own first round trip."""
    lam.strict.reset_calls()
    result = aws_lambda.handler(event("ec2-state-change-stopped", lam.lab.active), FakeContext())
    assert result["ok"] is True
    assert "stale" in result["ignored"]
    assert f"{lam.lab.active} is running now" in result["ignored"]
    assert lam.strict.mutations == []
    assert lam.address()["InstanceId"] == lam.lab.active
    (line,), _ = lines(capsys)
    assert (line["level"], line["outcome"]) == ("INFO", "ignored")


def test_an_alarm_back_to_ok_is_stale(lam):
    """The event says ALARM; DescribeAlarms says OK now: nothing moves."""
    _alarm(lam, "instance-status-check", "OK")
    result = aws_lambda.handler(
        event("cloudwatch-alarm-state-change", lam.lab.active), FakeContext()
    )
    assert "alarm instance-status-check is OK now" in result["ignored"]
    assert lam.strict.mutations == []


@pytest.mark.parametrize("name", ["ec2-state-change-stopped", "cloudwatch-alarm-state-change"])
def test_the_re_read_and_the_lease_cost_no_round_trip(lam, monkeypatch, name):
    """With the standby in ENIOPS_STANDBY and the type known (a warm handler), the lease,
    the alarm's re-read and the failover's own reads are one round trip before the first
    change; the failover alone takes the same one."""
    monkeypatch.setenv(_config.STANDBY_ENV, json.dumps({lam.lab.active: lam.lab.standby}))
    lam.client.stop_instances(InstanceIds=[lam.lab.active])
    _alarm(lam, "instance-status-check", "ALARM")
    eniops.describe(lam.lab.standby, ec2=lam.client)  # the standby's type, as a warm handler
    lam.strict.latency_s = 0.02
    others = [Recorder(lam.clients[s], latency_s=0.02) for s in ("cloudwatch", "dynamodb")]
    lam.strict.reset_calls()
    assert aws_lambda.handler(event(name, lam.lab.active), FakeContext())["changed"] is True
    first = next(c for c in lam.strict.calls if c.mutating)
    before = [c for c in [*lam.strict.calls, *others[0].calls, *others[1].calls] if c.at < first.at]
    assert {c.operation for c in before} >= {"DescribeInstances", "PutItem"}
    assert ("DescribeAlarms" in {c.operation for c in before}) == name.startswith("cloudwatch")
    assert round_trips(before) == 1


def test_a_refused_failover_of_a_pair_is_an_error_and_counted(lam, monkeypatch, capsys):
    """A failed guard comes back as ok=false with the reason; logged at ERROR and counted:
    an alarm on FailoverRefused pages someone."""
    monkeypatch.setenv(_config.REQUIRE_TAG_ENV, "failover=allowed")
    lam.client.stop_instances(InstanceIds=[lam.lab.active])
    result = aws_lambda.handler(event("ec2-state-change-stopped", lam.lab.active), FakeContext())
    assert result == {"ok": False, "error": result["error"]}
    assert result["error"]["reason"] == "tag-guard"
    assert lam.strict.mutations == []
    logs, found = lines(capsys)
    assert [(line["level"], line["outcome"]) for line in logs] == [("ERROR", "refused")]
    assert [(n, i) for n, i, _ in metrics(found)] == [("FailoverRefused", lam.lab.active)]


def test_a_second_step_failing_is_raised_for_a_retry(lam, capsys):
    """The ENI step fails after the EIP moved: PartialFailure raised and logged."""
    lam.client.stop_instances(InstanceIds=[lam.lab.active])
    lam.strict.inject("AttachNetworkInterface", _codes.INVALID_PARAMETER_VALUE, times=2)
    with pytest.raises(eniops.PartialFailure) as caught:
        aws_lambda.handler(event("ec2-state-change-stopped", lam.lab.active), FakeContext())
    assert lam.address()["InstanceId"] == lam.lab.standby
    where = caught.value.details["resources"][lam.lab.floating_eni]
    assert where["pending_move"].startswith(f"from={lam.lab.active} to={lam.lab.standby}")
    (line,), _ = lines(capsys)
    assert (line["outcome"], line["error"]["type"], line["level"]) == (
        "failed",
        "PartialFailure",
        "ERROR",
    )


def test_the_standby_from_the_environment_costs_no_lookup(lam, monkeypatch):
    """ENIOPS_STANDBY names every pair: no tag is read; an instance it does not name is
    ignored with no call at all."""
    monkeypatch.setenv(_config.STANDBY_ENV, json.dumps({lam.lab.active: lam.lab.standby}))
    lam.client.stop_instances(InstanceIds=[lam.lab.active])
    lam.strict.reset_calls()
    result = aws_lambda.handler(event("ec2-state-change-stopped", lam.lab.active), FakeContext())
    assert result["changed"] is True
    assert lam.strict.count("DescribeInstances") == 1  # the failover's own read
    lam.strict.reset_calls()
    ignored = aws_lambda.handler(event("ec2-state-change-stopped", lam.lab.far), FakeContext())
    assert "no standby" in ignored["ignored"]
    assert lam.strict.calls == []


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        (_config.STANDBY_ENV, "{not json"),
        (_config.STANDBY_ENV, '{"i-0123abcd": "nope"}'),
        (_config.STANDBY_ENV, '["i-0123abcd"]'),
        (_config.REQUIRE_TAG_ENV, "=x"),
        (_config.ROLE_ARN_ENV, "arn:aws:iam::1:role/x"),
        (_config.LEASE_TABLE_ENV, "a b"),
    ],
)
def test_a_configuration_that_does_not_read_is_refused_before_any_call(
    lam, monkeypatch, variable, value
):
    monkeypatch.setenv(variable, value)
    lam.strict.reset_calls()
    result = aws_lambda.handler(event("ec2-state-change-stopped", lam.lab.active), FakeContext())
    assert result["ok"] is False
    assert result["error"]["type"] == "InvalidInput"
    assert variable in result["error"]["message"]
    assert lam.strict.calls == []


def test_a_duplicate_delivery_finds_nothing_left(lam):
    """EventBridge delivers at least once: the second delivery changes nothing."""
    lam.client.stop_instances(InstanceIds=[lam.lab.active])
    stopped = event("ec2-state-change-stopped", lam.lab.active)
    assert aws_lambda.handler(stopped, FakeContext())["changed"] is True
    mutations = len(lam.strict.mutations)
    again = aws_lambda.handler(stopped, FakeContext())
    assert again["changed"] is False
    assert len(lam.strict.mutations) == mutations
