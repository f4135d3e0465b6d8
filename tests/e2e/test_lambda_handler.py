"""The Lambda handler's contract around the events: direct invocations, the deadline, junk,
teardowns, its log lines and level, and its clients."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import FakeContext
from test_lambda import event, lines

import eniops
from eniops import aws_lambda
from eniops.aws_lambda import _config
from eniops.testing import add_zone_pairs


def test_direct_invocation(lam):
    """{"operation", "args"} runs any operation; bad names are returned as errors."""
    result = aws_lambda.handler(
        {"operation": "remap_eip", "args": {"eip": lam.lab.eip, "to_instance": lam.lab.standby}},
        FakeContext(),
    )
    assert result["changed"] is True
    shown = aws_lambda.handler(
        {"operation": "describe", "args": {"resource_id": lam.lab.eip}}, FakeContext()
    )
    assert shown["instance"] == lam.lab.standby
    for bad in (
        {"operation": "rm_rf", "args": {}},
        {"operation": "remap_eip", "args": {"to_instance": lam.lab.standby}},
        {"operation": "remap_eip", "args": {"eip": lam.lab.eip, "bogus": 1}},
        {"operation": "check_failover", "args": {"from_instance": lam.lab.standby, "mode": "x"}},
    ):
        assert aws_lambda.handler(bad, FakeContext())["ok"] is False


def test_direct_invocation_of_an_evacuation(lam):
    """{"operation": "evacuate", "args": {"zone": …}} evacuates the zone's pairs within the
    invocation's deadline: {"ok": true, ...Evacuation.to_dict()}; a malformed zone is
    answered ok false, before any call."""
    with lam.strict.internal() as client:
        made = add_zone_pairs(client, lam.lab, 2)
    pairs = {a: s for a, s, _ in made}
    answer = aws_lambda.handler(
        {"operation": "evacuate", "args": {"zone": lam.lab.zone_a, "pairs": pairs}},
        FakeContext(),
    )
    assert (answer["ok"], answer["moved"], answer["failed"], answer["exit_code"]) == (
        True,
        2,
        0,
        0,
    )
    lam.strict.reset_calls()
    bad = aws_lambda.handler(
        {"operation": "evacuate", "args": {"zone": "not a zone"}}, FakeContext()
    )
    assert (bad["ok"], bad["error"]["type"]) == (False, "InvalidInput")
    assert lam.strict.calls == []


def test_an_evacuations_pair_waits_for_its_lease(lam):
    """A direct evacuation takes each pair's leases as an event's failover does: a pair
    whose instance another invocation holds until past the deadline fails (nothing sent),
    the other moves, and no lease of this invocation is left held."""
    import time as clock

    import boto3
    from conftest import LEASE_TABLE

    with lam.strict.internal() as client:
        made = add_zone_pairs(client, lam.lab, 2)
    held, free = made
    dynamodb = boto3.client("dynamodb", region_name="us-east-1")
    dynamodb.put_item(
        TableName=LEASE_TABLE,
        Item={
            "pk": {"S": f"failover/{held[0]}"},
            "owner": {"S": "another invocation"},
            "expires": {"N": str(int(clock.time()) + 600)},
        },
    )
    answer = aws_lambda.handler(
        {
            "operation": "evacuate",
            "args": {"zone": lam.lab.zone_a, "pairs": {a: s for a, s, _ in made}},
        },
        FakeContext(remaining_s=8.0),
    )
    ended = {p["instance"]: p for p in answer["pairs"]}
    assert ended[free[0]]["end"] == "moved"
    assert ended[held[0]]["end"] == "failed"
    assert ended[held[0]]["error"]["type"] == "OperationTimeout"
    items = dynamodb.scan(TableName=LEASE_TABLE)["Items"]
    assert [i["pk"]["S"] for i in items] == [f"failover/{held[0]}"]


def test_direct_invocation_of_check_and_release(lam):
    """check_failover returns {"ok": true, ...Readiness.to_dict()}; release_eip is guarded."""
    readiness = aws_lambda.handler(
        {
            "operation": "check_failover",
            "args": {"from_instance": lam.lab.active, "to_instance": lam.lab.standby},
        },
        FakeContext(),
    )
    assert (readiness["ok"], readiness["ready"], readiness["problems"]) == (True, True, [])
    assert set(readiness) == {"ok", "ready", "problems", "warnings", "plan", "elapsed_s"}
    wrong = aws_lambda.handler(
        {"operation": "release_eip", "args": {"eip": lam.lab.eip, "expect_current": lam.lab.far}},
        FakeContext(),
    )
    assert (wrong["ok"], wrong["error"]["reason"]) == (False, "expect-mismatch")
    args = {"eip": lam.lab.eip, "expect_current": lam.lab.active}
    released = aws_lambda.handler({"operation": "release_eip", "args": args}, FakeContext())
    assert (released["ok"], released["changed"]) == (True, True)
    assert "AssociationId" not in lam.address()


def test_a_direct_invocation_cannot_switch_the_guard_off(lam, monkeypatch):
    """With ENIOPS_REQUIRE_TAG set, args cannot drop or change require_tag."""
    monkeypatch.setenv(_config.REQUIRE_TAG_ENV, "failover=allowed")
    for guard in (None, "other=tag"):
        args = {"eip": lam.lab.eip, "to_instance": lam.lab.standby, "require_tag": guard}
        result = aws_lambda.handler({"operation": "remap_eip", "args": args}, FakeContext())
        assert result["ok"] is False
    assert lam.strict.mutations == []


def test_a_direct_invocation_cannot_stretch_the_deadline(lam):
    """A timeout beyond the invocation's remaining time is cut to the deadline."""
    lam.strict.hold("DetachNetworkInterface", polls=10_000)
    context = FakeContext(remaining_s=aws_lambda.SAFETY_MARGIN_S + 0.5)
    args = {"eni": lam.lab.floating_eni, "to_instance": lam.lab.standby, "timeout": 3600}
    with pytest.raises(eniops.OperationTimeout) as caught:
        aws_lambda.handler({"operation": "move_eni", "args": args}, context)
    assert caught.value.details["timeout_s"] <= 0.5


def test_the_deadline_comes_from_the_context(lam):
    """With little time left, a detach that never finishes ends in OperationTimeout, which
    says where everything is: the address moved, the ENI detaching with its intent."""
    lam.client.stop_instances(InstanceIds=[lam.lab.active])
    lam.strict.hold("DetachNetworkInterface", polls=10_000)
    context = FakeContext(remaining_s=aws_lambda.SAFETY_MARGIN_S + 0.8)
    with pytest.raises(eniops.OperationTimeout) as caught:
        aws_lambda.handler(event("ec2-state-change-stopped", lam.lab.active), context)
    where = caught.value.details["resources"]
    assert where[lam.lab.eip]["instance"] == lam.lab.standby
    assert where[lam.lab.floating_eni]["attachment_status"] == "detaching"
    assert "pending_move" in where[lam.lab.floating_eni]


def test_too_little_time_starts_nothing(lam):
    """Less time left than the safety margin: nothing is started, raised for a retry."""
    lam.strict.reset_calls()
    with pytest.raises(eniops.OperationTimeout):
        aws_lambda.handler(
            event("ec2-state-change-stopped", lam.lab.active),
            FakeContext(remaining_s=aws_lambda.SAFETY_MARGIN_S - 0.5),
        )
    assert lam.strict.calls == []


@pytest.mark.parametrize(
    "junk",
    [
        None,
        "stopped",
        [1, 2],
        {"source": "aws.ec2", "detail-type": "EC2 Instance State-change Notification", "detail": 1},
        {
            "source": "aws.ec2",
            "detail-type": "EC2 Instance State-change Notification",
            "detail": {"state": "stopped"},
        },
        {
            "source": "aws.cloudwatch",
            "detail-type": "CloudWatch Alarm State Change",
            "detail": {"state": "ALARM"},
        },
        {"operation": ["remap_eip"], "args": {}},
        {"operation": "remap_eip", "args": "eip"},
        {"operation": "remap_eip", "args": {"eip": "nope", "to_instance": "i-1"}},
    ],
    ids=[
        "none",
        "string",
        "list",
        "detail-number",
        "no-instance",
        "alarm-shape",
        "op-list",
        "args-string",
        "malformed-id",
    ],
)
def test_junk_events_are_answered_not_raised(lam, junk, capsys):
    """A malformed event is ok=false (retrying cannot help) at WARNING, and no AWS call."""
    lam.strict.reset_calls()
    result = aws_lambda.handler(junk, FakeContext())
    assert result["ok"] is False
    assert result["error"]["type"] == "InvalidInput"
    assert lam.strict.calls == []
    (line,), found = lines(capsys)
    assert (line["level"], found) == ("WARNING", [])


def test_terminated_with_everything_gone_is_not_found(lam):
    """EC2's teardown took the address and the ENIs and nothing names the instance as
    holder: the terminated event is an error (the service is down), not an unchanged success."""
    lam.client.terminate_instances(InstanceIds=[lam.lab.active])
    result = aws_lambda.handler(event("ec2-state-change-terminated", lam.lab.active), FakeContext())
    assert result["ok"] is False
    assert result["error"]["reason"] == "not-found"


def test_terminated_after_teardown_moves_what_eniops_placed(lam):
    """After a failover to the standby (which tags eniops:holder), the standby is terminated:
    its torn-down address and ENI go back by their holder tags."""
    lam.client.stop_instances(InstanceIds=[lam.lab.active])
    stopped = event("ec2-state-change-stopped", lam.lab.active)
    assert aws_lambda.handler(stopped, FakeContext())["changed"]
    lam.client.start_instances(InstanceIds=[lam.lab.active])
    with lam.strict.internal() as client:
        client.create_tags(
            Resources=[lam.lab.standby],
            Tags=[{"Key": _config.STANDBY_TAG, "Value": lam.lab.active}],
        )
    lam.client.terminate_instances(InstanceIds=[lam.lab.standby])
    assert "AssociationId" not in lam.address()
    result = aws_lambda.handler(
        event("ec2-state-change-terminated", lam.lab.standby), FakeContext()
    )
    assert (result["ok"], result["changed"]) == (True, True)
    assert lam.address()["InstanceId"] == lam.lab.active
    eni = lam.eni(lam.lab.floating_eni)
    assert eni["Attachment"]["InstanceId"] == lam.lab.active


def test_log_line_of_an_invocation(lam, capsys, monkeypatch):
    """One JSON line with Powertools' key names where it has one (timestamp, level, message,
    service, function_name, function_request_id, correlation_id: the event id, xray_trace_id,
    cold_start), the trigger, the instance, what moved, the outcome, and the package's real
    version."""
    monkeypatch.setenv("_X_AMZN_TRACE_ID", "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1")
    lam.client.stop_instances(InstanceIds=[lam.lab.active])
    stopped = event("ec2-state-change-stopped", lam.lab.active)
    aws_lambda.handler(stopped, FakeContext())
    (line,), _ = lines(capsys)
    assert line["correlation_id"] == stopped["id"]
    assert line["function_request_id"] == "req-0001"
    assert line["xray_trace_id"] == "1-5759e988-bd862e3fe1be46a994272793"
    assert (line["level"], line["message"], line["trigger"]) == ("INFO", "done", "instance stopped")
    assert line["timestamp"].endswith("+00:00")
    assert set(line["moved"]) >= {lam.lab.eip, lam.lab.floating_eni}
    assert line["outcome"] == "changed"
    assert line["version"] == eniops.__version__ != "0+unknown"
    assert (line["service"], line["function_name"]) == ("eniops", FakeContext.function_name)
    assert line["cold_start"] in (True, False)
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "payments-failover")
    aws_lambda.handler(stopped, FakeContext())
    (line,), _ = lines(capsys)
    assert line["service"] == "payments-failover"


def test_cold_start_is_true_once(lam, capsys, monkeypatch):
    """The first invocation of an execution environment says cold_start, the next do not."""
    monkeypatch.setattr(aws_lambda, "_cold_start", True)
    for _ in range(2):
        aws_lambda.handler(event("ec2-state-change-running", lam.lab.active), FakeContext())
    logs, _ = lines(capsys)
    assert [line["cold_start"] for line in logs] == [True, False]


@pytest.mark.parametrize(
    ("level", "shown"), [("DEBUG", 1), ("INFO", 1), ("WARN", 0), ("ERROR", 0), ("nonsense", 1)]
)
def test_the_log_level_follows_lambdas(lam, capsys, monkeypatch, level, shown):
    """AWS_LAMBDA_LOG_LEVEL decides which lines are written (an INFO 'ignored' here); the
    metric lines are written whatever it is."""
    monkeypatch.setenv("AWS_LAMBDA_LOG_LEVEL", level)
    aws_lambda.handler(event("ec2-state-change-running", lam.lab.active), FakeContext())
    logs, found = lines(capsys)
    assert len(logs) == shown
    assert len(found) == 1


def test_logs_never_carry_credentials(lam, capsys, monkeypatch):
    """The log lines hold ids and outcomes, never the credentials in the environment."""
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "very-secret-value")
    lam.client.stop_instances(InstanceIds=[lam.lab.active])
    aws_lambda.handler(event("ec2-state-change-stopped", lam.lab.active), FakeContext())
    out = capsys.readouterr().out
    assert "very-secret-value" not in out
    assert "testing" not in out


def test_an_unexpected_exception_is_logged_and_raised(lam, capsys, monkeypatch):
    """A bug raises (so Lambda retries) and still leaves a log line saying what happened."""

    def broken(*_args, **_kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("eniops._ops._operation.run", broken)
    lam.client.stop_instances(InstanceIds=[lam.lab.active])
    with pytest.raises(RuntimeError):
        aws_lambda.handler(event("ec2-state-change-stopped", lam.lab.active), FakeContext())
    (line,), _ = lines(capsys)
    assert (line["outcome"], line["error"]["type"], line["level"]) == (
        "crashed",
        "RuntimeError",
        "ERROR",
    )


def test_a_client_is_built_once_per_service(monkeypatch):
    built = []
    monkeypatch.setattr(aws_lambda, "_clients", {})
    monkeypatch.setattr(
        "eniops._gateway.build_client", lambda **kw: built.append(kw["service"]) or object()
    )
    first = aws_lambda.get_client()
    assert aws_lambda.get_client() is first
    assert aws_lambda.get_client("dynamodb") is not first
    assert built == ["ec2", "dynamodb"]
    given = object()
    aws_lambda.set_client(given)
    assert aws_lambda.get_client() is given
    aws_lambda.set_client(None)
    assert aws_lambda.get_client() is not given
    assert built == ["ec2", "dynamodb", "ec2"]


def test_the_client_is_built_during_init():
    """In Lambda (AWS_LAMBDA_FUNCTION_NAME set) importing the handler builds its EC2 client;
    elsewhere the import loads no AWS SDK (see tests/pure/test_import.py)."""
    code = "import eniops.aws_lambda as m; print(sorted(m._clients))"
    env = {
        **os.environ,
        "AWS_LAMBDA_FUNCTION_NAME": "eniops",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "['ec2']"


def test_the_role_comes_from_the_environment(monkeypatch):
    """ENIOPS_ROLE_ARN makes the handler's client work in the role's account."""
    from moto import mock_aws
    from support import client_in_account

    from eniops.testing import build_lab

    role = "arn:aws:iam::222222222222:role/eniops"
    with mock_aws():
        other = client_in_account(role)
        lab = build_lab(other)
        monkeypatch.setenv(_config.ROLE_ARN_ENV, role)
        monkeypatch.setattr(aws_lambda, "_clients", {})
        result = aws_lambda.handler(
            {"operation": "describe", "args": {"resource_id": lab.eip}}, FakeContext()
        )
        assert result["ok"] is True
        assert result["allocation_id"] == lab.eip
