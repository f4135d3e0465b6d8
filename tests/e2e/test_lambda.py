"""The Lambda handler with recorded-shape events and a fake context."""

from __future__ import annotations

import json

import pytest

import eniops
from eniops import _codes, aws_lambda


class FakeContext:
    """What the handler reads of Lambda's context object."""

    aws_request_id = "req-0001"
    function_name = "eniops-failover"

    def __init__(self, remaining_s: float = 60.0) -> None:
        self.remaining_s = remaining_s

    def get_remaining_time_in_millis(self) -> int:
        return int(self.remaining_s * 1000)


def event(name, instance_id):
    return aws_lambda.sample_event(name.removesuffix(".json"), instance_id)


@pytest.fixture
def lam(world, monkeypatch):
    """The handler wired to the strict in-memory EC2; standby by tag unless a test says so."""
    monkeypatch.setattr(aws_lambda, "_client", world.client)
    monkeypatch.delenv(aws_lambda.STANDBY_ENV, raising=False)
    monkeypatch.delenv(aws_lambda.REQUIRE_TAG_ENV, raising=False)
    with world.strict.internal() as client:
        client.create_tags(
            Resources=[world.lab.active],
            Tags=[{"Key": aws_lambda.STANDBY_TAG, "Value": world.lab.standby}],
        )
    return world


def log_lines(capsys):
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]


@pytest.mark.parametrize(
    "name", ["ec2-state-change-stopped.json", "cloudwatch-alarm-state-change.json"]
)
def test_event_fails_over_to_tagged_standby(lam, name, capsys):
    """A stopped instance or an alarm moves the EIP and the ENI to the tagged standby."""
    result = aws_lambda.handler(event(name, lam.lab.active), FakeContext())
    assert result["operation"] == "failover_instance"
    assert result["changed"] is True
    assert lam.address()["InstanceId"] == lam.lab.standby
    (line,) = log_lines(capsys)
    assert line["outcome"] == "changed"
    assert (line["instance"], line["standby"]) == (lam.lab.active, lam.lab.standby)


def test_standby_from_environment(lam, monkeypatch):
    """ENIOPS_STANDBY (JSON) names the standby without a tag lookup."""
    monkeypatch.setenv(aws_lambda.STANDBY_ENV, json.dumps({lam.lab.active: lam.lab.standby}))
    with lam.strict.internal() as client:
        client.delete_tags(Resources=[lam.lab.active], Tags=[{"Key": aws_lambda.STANDBY_TAG}])
    lam.strict.reset_calls()
    result = aws_lambda.handler(
        event("ec2-state-change-stopped.json", lam.lab.active), FakeContext()
    )
    assert result["changed"] is True
    # the failover reads instances once; there is no tag lookup
    assert lam.strict.count("DescribeInstances") == 1


def test_no_standby_is_returned_not_raised(lam):
    """No tag and no environment: a clear error returned, since retrying cannot help."""
    result = aws_lambda.handler(event("ec2-state-change-stopped.json", lam.lab.far), FakeContext())
    assert result["ok"] is False
    assert "no standby" in result["error"]["message"]


@pytest.mark.parametrize("name", ["ec2-state-change-running.json", "cloudwatch-alarm-ok.json"])
def test_non_failure_events_are_ignored(lam, name):
    """Running instances and alarms back to OK change nothing."""
    result = aws_lambda.handler(event(name, lam.lab.active), FakeContext())
    assert result["ok"] is True
    assert "ignored" in result
    assert lam.strict.mutations == []


def test_duplicate_delivery_is_harmless(lam):
    """EventBridge delivers at least once: the second delivery changes nothing."""
    stopped = event("ec2-state-change-stopped.json", lam.lab.active)
    assert aws_lambda.handler(stopped, FakeContext())["changed"] is True
    mutations = len(lam.strict.mutations)
    again = aws_lambda.handler(stopped, FakeContext())
    assert again["changed"] is False
    assert len(lam.strict.mutations) == mutations


def test_precondition_failure_is_returned(lam, monkeypatch):
    """A failed guard (tag) comes back as ok=false with the reason, not as an exception."""
    monkeypatch.setenv(aws_lambda.REQUIRE_TAG_ENV, "failover=allowed")
    result = aws_lambda.handler(
        event("ec2-state-change-stopped.json", lam.lab.active), FakeContext()
    )
    assert result == {"ok": False, "error": result["error"]}
    assert result["error"]["reason"] == "tag-guard"
    assert lam.strict.mutations == []


def test_second_step_failing_is_raised_for_a_retry(lam, capsys):
    """The ENI step fails after the EIP moved: PartialFailure raised and logged."""
    lam.strict.inject("AttachNetworkInterface", _codes.INVALID_PARAMETER_VALUE, times=2)
    with pytest.raises(eniops.PartialFailure) as caught:
        aws_lambda.handler(event("ec2-state-change-stopped.json", lam.lab.active), FakeContext())
    assert lam.address()["InstanceId"] == lam.lab.standby
    steps = {s["step"]: s for s in caught.value.details["steps"]}
    assert len(steps) == 4  # the address, the ENI and the overlay route in two tables
    assert "error" in steps[f"move {lam.lab.floating_eni}"]
    where = caught.value.details["resources"][lam.lab.floating_eni]
    assert where["status"] == "available"
    assert where["pending_move"].startswith(f"from={lam.lab.active} to={lam.lab.standby}")
    (line,) = log_lines(capsys)
    assert (line["outcome"], line["error"]["type"]) == ("failed", "PartialFailure")


def test_deadline_comes_from_the_context(lam):
    """With little time left, a detach that never finishes ends in OperationTimeout, which
    says where everything is: the address moved, the ENI detaching with its intent."""
    lam.strict.hold("DetachNetworkInterface", polls=10_000)
    context = FakeContext(remaining_s=aws_lambda.SAFETY_MARGIN_S + 0.8)
    with pytest.raises(eniops.OperationTimeout) as caught:
        aws_lambda.handler(event("ec2-state-change-stopped.json", lam.lab.active), context)
    where = caught.value.details["resources"]
    assert where[lam.lab.eip]["instance"] == lam.lab.standby
    assert where[lam.lab.floating_eni]["attachment_status"] == "detaching"
    assert "pending_move" in where[lam.lab.floating_eni]


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


def test_direct_invocation_of_check_and_release(lam):
    """check_failover returns {"ok": true, ...Readiness.to_dict()}; release_eip is guarded."""
    readiness = aws_lambda.handler(
        {
            "operation": "check_failover",
            "args": {"from_instance": lam.lab.active, "to_instance": lam.lab.standby},
        },
        FakeContext(),
    )
    assert readiness["ok"] is True
    assert (readiness["ready"], readiness["problems"]) == (True, [])
    assert set(readiness) == {"ok", "ready", "problems", "warnings", "plan", "elapsed_s"}
    wrong = aws_lambda.handler(
        {"operation": "release_eip", "args": {"eip": lam.lab.eip, "expect_current": lam.lab.far}},
        FakeContext(),
    )
    assert (wrong["ok"], wrong["error"]["reason"]) == (False, "expect-mismatch")
    released = aws_lambda.handler(
        {
            "operation": "release_eip",
            "args": {"eip": lam.lab.eip, "expect_current": lam.lab.active},
        },
        FakeContext(),
    )
    assert (released["ok"], released["changed"]) == (True, True)
    assert [c for c in lam.strict.mutations if c.operation == "DisassociateAddress"]


def test_logs_never_carry_credentials(lam, capsys, monkeypatch):
    """The log lines hold ids and outcomes, never the credentials in the environment."""
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "very-secret-value")
    aws_lambda.handler(event("ec2-state-change-stopped.json", lam.lab.active), FakeContext())
    out = capsys.readouterr().out
    assert "very-secret-value" not in out
    assert "testing" not in out


def test_client_is_built_once(monkeypatch):
    """The execution environment builds one client and reuses it."""
    built = []
    monkeypatch.setattr(aws_lambda, "_client", None)
    monkeypatch.setattr("eniops._gateway.build_client", lambda **_: built.append(1) or object())
    first = aws_lambda.get_client()
    assert aws_lambda.get_client() is first
    assert built == [1]
    given = object()
    aws_lambda.set_client(given)
    assert aws_lambda.get_client() is given
    aws_lambda.set_client(None)
    assert aws_lambda.get_client() is not given
    assert built == [1, 1]


def test_success_is_ok_true(lam):
    """A failover's answer is {"ok": true, ...Result}."""
    result = aws_lambda.handler(event("ec2-state-change-stopped", lam.lab.active), FakeContext())
    assert result["ok"] is True
    assert result["operation"] == "failover_instance"


def test_the_alarms_own_lambda_action(lam):
    """A CloudWatch alarm's Lambda action payload (alarmData) fails the instance over."""
    result = aws_lambda.handler(
        event("cloudwatch-alarm-lambda-action", lam.lab.active), FakeContext()
    )
    assert result["ok"] is True
    assert lam.address()["InstanceId"] == lam.lab.standby


@pytest.mark.parametrize(
    "junk",
    [
        None,
        "stopped",
        [1, 2],
        {"detail-type": "EC2 Instance State-change Notification", "detail": "stopped"},
        {"detail-type": "EC2 Instance State-change Notification", "detail": {"state": "stopped"}},
        {"detail-type": "CloudWatch Alarm State Change", "detail": {"state": "ALARM"}},
        {"operation": ["remap_eip"], "args": {}},
        {"operation": "remap_eip", "args": "eip"},
        {"operation": "remap_eip", "args": {"eip": "nope", "to_instance": "i-1"}},
    ],
    ids=[
        "none",
        "string",
        "list",
        "detail-string",
        "no-instance",
        "alarm-shape",
        "op-list",
        "args-string",
        "malformed-id",
    ],
)
def test_junk_events_are_answered_not_raised(lam, junk):
    """A malformed event is ok=false (retrying cannot help), and no AWS call is made."""
    lam.strict.reset_calls()
    result = aws_lambda.handler(junk, FakeContext())
    assert result["ok"] is False
    assert result["error"]["type"] in ("InvalidInput", "PreconditionFailed", "NotFound")
    assert lam.strict.calls == []


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
    assert aws_lambda.handler(event("ec2-state-change-stopped", lam.lab.active), FakeContext())[
        "changed"
    ]
    with lam.strict.internal() as client:
        client.create_tags(
            Resources=[lam.lab.standby],
            Tags=[{"Key": aws_lambda.STANDBY_TAG, "Value": lam.lab.active}],
        )
    lam.client.terminate_instances(InstanceIds=[lam.lab.standby])
    assert "AssociationId" not in lam.address()
    result = aws_lambda.handler(
        event("ec2-state-change-terminated", lam.lab.standby), FakeContext()
    )
    assert result["ok"] is True
    assert result["changed"] is True
    assert lam.address()["InstanceId"] == lam.lab.active
    eni = lam.client.describe_network_interfaces(NetworkInterfaceIds=[lam.lab.floating_eni])
    assert eni["NetworkInterfaces"][0]["Attachment"]["InstanceId"] == lam.lab.active


def test_a_direct_invocation_cannot_switch_the_guard_off(lam, monkeypatch):
    """With ENIOPS_REQUIRE_TAG set, args cannot drop or change require_tag."""
    monkeypatch.setenv(aws_lambda.REQUIRE_TAG_ENV, "failover=allowed")
    for guard in (None, "other=tag"):
        result = aws_lambda.handler(
            {
                "operation": "remap_eip",
                "args": {"eip": lam.lab.eip, "to_instance": lam.lab.standby, "require_tag": guard},
            },
            FakeContext(),
        )
        assert result["ok"] is False
    assert lam.strict.mutations == []


def test_a_direct_invocation_cannot_stretch_the_deadline(lam):
    """A timeout beyond the invocation's remaining time is cut to the deadline."""
    lam.strict.hold("DetachNetworkInterface", polls=10_000)
    context = FakeContext(remaining_s=aws_lambda.SAFETY_MARGIN_S + 0.5)
    with pytest.raises(eniops.OperationTimeout) as caught:
        aws_lambda.handler(
            {
                "operation": "move_eni",
                "args": {
                    "eni": lam.lab.floating_eni,
                    "to_instance": lam.lab.standby,
                    "timeout": 3600,
                },
            },
            context,
        )
    assert caught.value.details["timeout_s"] <= 0.5


def test_too_little_time_starts_nothing(lam):
    """Less time left than the safety margin: nothing is started, raised for a retry."""
    lam.strict.reset_calls()
    with pytest.raises(eniops.OperationTimeout):
        aws_lambda.handler(
            event("ec2-state-change-stopped", lam.lab.active),
            FakeContext(remaining_s=aws_lambda.SAFETY_MARGIN_S - 0.5),
        )
    assert lam.strict.calls == []


def test_log_line_of_an_invocation(lam, capsys):
    """One JSON line: timestamp, level, the event id as correlation id, cold start, function,
    operation, every moved resource, outcome, elapsed time."""
    stopped = event("ec2-state-change-stopped", lam.lab.active)
    aws_lambda.handler(stopped, FakeContext())
    (line,) = log_lines(capsys)
    assert line["correlation_id"] == stopped["id"]
    assert line["function_name"] == "eniops-failover"
    assert line["level"] == "INFO"
    assert line["timestamp"].endswith("+00:00")
    assert isinstance(line["cold_start"], bool)
    assert set(line["moved"]) >= {lam.lab.eip, lam.lab.floating_eni}
    assert line["outcome"] == "changed"
    assert line["elapsed_s"] >= 0


def test_an_unexpected_exception_is_logged_and_raised(lam, capsys, monkeypatch):
    """A bug raises (so Lambda retries) and still leaves a log line saying what happened."""

    def broken(*_args, **_kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("eniops._ops.failover.failover_instance", broken)
    with pytest.raises(RuntimeError):
        aws_lambda.handler(event("ec2-state-change-stopped", lam.lab.active), FakeContext())
    (line,) = log_lines(capsys)
    assert (line["outcome"], line["error"]["type"], line["level"]) == (
        "crashed",
        "RuntimeError",
        "ERROR",
    )


def test_the_client_is_built_during_init():
    """In Lambda (AWS_LAMBDA_FUNCTION_NAME set) importing the handler builds its client;
    elsewhere the import loads no AWS SDK (see tests/pure/test_import.py)."""
    import os
    import subprocess
    import sys

    code = "import eniops.aws_lambda as m; print(m._client is not None)"
    env = {
        **os.environ,
        "AWS_LAMBDA_FUNCTION_NAME": "eniops",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "True"


def test_the_role_comes_from_the_environment(monkeypatch):
    """ENIOPS_ROLE_ARN makes the handler's client work in the role's account."""
    from moto import mock_aws
    from support import client_in_account

    from eniops.testing import build_lab

    role = "arn:aws:iam::222222222222:role/eniops"
    with mock_aws():
        other = client_in_account(role)
        lab = build_lab(other)
        monkeypatch.setenv(aws_lambda.ROLE_ARN_ENV, role)
        monkeypatch.setattr(aws_lambda, "_client", None)
        result = aws_lambda.handler(
            {"operation": "describe", "args": {"resource_id": lab.eip}}, FakeContext()
        )
        assert result["ok"] is True
        assert result["allocation_id"] == lab.eip
