"""The Lambda handler with recorded-shape events and a fake context."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import eniops
from eniops import _codes, aws_lambda

EVENTS = Path(__file__).resolve().parents[1] / "events"


class FakeContext:
    """What the handler reads of Lambda's context object."""

    aws_request_id = "req-0001"

    def __init__(self, remaining_s: float = 60.0) -> None:
        self.remaining_s = remaining_s

    def get_remaining_time_in_millis(self) -> int:
        return int(self.remaining_s * 1000)


def event(name, instance_id):
    return json.loads((EVENTS / name).read_text().replace("INSTANCE_ID", instance_id))


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
    ):
        assert aws_lambda.handler(bad, FakeContext())["ok"] is False


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
