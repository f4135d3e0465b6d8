"""The process's request budget in the operations: every EC2 call takes its token before it
is sent, never waits past its deadline, and learns from the throttles EC2 still answers."""

from __future__ import annotations

import boto3
import pytest

import eniops
from eniops._core import _codes
from eniops._gateway import _limiter
from eniops._gateway._limiter import Shape, limiter_for
from eniops.testing import StrictEc2


@pytest.fixture
def shaped(monkeypatch):
    """Give the process's buckets the shapes a test asks for (a fresh limiter each time)."""

    def shape(describe: Shape, change: Shape) -> None:
        monkeypatch.setattr(_limiter, "SHAPES", {"describe": describe, "change": change})
        _limiter.reset_limiters()

    return shape


def test_a_call_is_not_sent_when_its_token_would_come_after_the_deadline(world, shaped):
    """One describe token refilled every 100 s: the first read goes, the next would wait past
    the deadline, so it is never sent and the operation says why (nothing was changed)."""
    shaped(describe=Shape(1.0, 0.01), change=Shape(50.0, 5.0))
    world.strict.reset_calls()
    with pytest.raises(eniops.OperationTimeout, match="request budget") as raised:
        eniops.move_eni(
            world.lab.floating_eni, to_instance=world.lab.standby, ec2=world.client, timeout=5
        )
    assert raised.value.details["sent"] is False
    assert world.strict.count() == 1
    assert world.strict.mutations == []
    assert limiter_for(world.client).buckets["describe"].tokens == pytest.approx(0.0, abs=0.1)


def test_every_operation_of_a_process_draws_on_one_budget(world, shaped):
    """Two clients of one account and Region, two operations: their describes come out of
    the same bucket, as EC2 counts them."""
    shaped(describe=Shape(1000.0, 0.001), change=Shape(1000.0, 0.001))
    other = boto3.client("ec2", region_name=world.client.meta.region_name)
    other_strict = StrictEc2(other)
    world.strict.reset_calls()
    eniops.describe(world.lab.active, ec2=world.client)
    eniops.remap_eip(world.lab.eip, to_instance=world.lab.standby, ec2=other)
    limiter = limiter_for(world.client)
    assert limiter is limiter_for(other)
    describes = sum(
        1
        for strict in (world.strict, other_strict)
        for call in strict.calls
        if call.operation.startswith("Describe")
    )
    changes = len(world.strict.mutations) + len(other_strict.mutations)
    assert describes >= 3
    assert changes >= 1
    assert 1000.0 - limiter.buckets["describe"].tokens == pytest.approx(describes, abs=0.05)
    assert 1000.0 - limiter.buckets["change"].tokens == pytest.approx(changes, abs=0.05)


def test_a_throttle_lowers_the_refill_and_the_change_goes_through(world):
    """EC2 answers the association `RequestLimitExceeded` once: eniops sends it again (it
    was refused, so had no effect), the address moves, and the change bucket's refill is
    lowered below EC2's 5 a second; the describes' is untouched."""
    world.strict.inject("AssociateAddress", _codes.REQUEST_LIMIT_EXCEEDED)
    result = eniops.remap_eip(world.lab.eip, to_instance=world.lab.standby, ec2=world.client)
    assert result.changed
    assert world.strict.count("AssociateAddress") == 2
    limiter = limiter_for(world.client)
    assert limiter.throttles == 1
    assert limiter.buckets["change"].rate < 5.0
    assert limiter.buckets["describe"].rate == 20.0


def test_a_client_of_another_service_is_not_limited(world):
    """STS, IAM, CloudWatch and DynamoDB have buckets of their own: no EC2 budget for them."""
    sts = boto3.client("sts", region_name="us-east-1")
    assert limiter_for(sts) is None
    assert limiter_for(world.client) is not None
