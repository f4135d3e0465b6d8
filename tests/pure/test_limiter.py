"""The process's request budget per account and Region: EC2's token buckets, learnt from
throttles. Pure: a clock of the test's own, clients stood in by their shape."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from eniops._gateway._limiter import (
    MIN_RATE,
    SHAPES,
    Bucket,
    Limiter,
    Shape,
    family_of,
    limiter_for,
    reset_limiters,
)


class Now:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.mark.parametrize(
    ("operation", "family"),
    [
        ("DescribeInstances", "describe"),
        ("DescribeNetworkInterfaces", "describe"),
        ("GetConsoleOutput", "describe"),
        ("AssociateAddress", "change"),
        ("AttachNetworkInterface", "change"),
        ("CreateTags", "change"),
    ],
    ids=str,
)
def test_each_action_draws_from_its_bucket(operation, family):
    """Describes from one bucket, changes from the other, as EC2 counts them."""
    assert family_of(operation) == family


def test_the_buckets_are_shaped_like_ec2s():
    """100 describe tokens refilled at 20 a second, 50 change tokens at 5 (ec2-behaviour)."""
    assert {"describe": Shape(100.0, 20.0), "change": Shape(50.0, 5.0)} == SHAPES


def test_a_full_bucket_lets_its_burst_through_then_one_token_per_refill():
    """A burst of its capacity goes at once; each call past it waits its turn, in order."""
    bucket = Bucket(Shape(3.0, 2.0), now=0.0)
    assert [bucket.reserve(0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert [bucket.reserve(0.0) for _ in range(3)] == [0.5, 1.0, 1.5]
    assert bucket.reserve(10.0) == 0.0  # refilled (to its capacity, never past it)
    assert bucket.tokens == 2.0


def test_a_token_not_used_is_given_back():
    """A call not sent after all (its deadline, a stop) returns its token."""
    bucket = Bucket(Shape(1.0, 1.0), now=0.0)
    bucket.reserve(0.0)
    assert bucket.reserve(0.0) == 1.0
    bucket.give_back(0.0)
    assert bucket.reserve(0.0) == 1.0


def test_a_throttle_lowers_the_refill_and_answers_bring_it_back():
    """EC2's throttle empties the bucket and cuts its refill (0.7 of it, as CUBIC); answers
    since let it climb back to EC2's rate and no further; it never falls below MIN_RATE."""
    bucket = Bucket(Shape(50.0, 5.0), now=0.0)
    bucket.throttled(1.0)
    assert bucket.rate == pytest.approx(3.5)
    assert bucket.tokens <= 0
    assert bucket.reserve(1.0) > 0  # empty now: the next call waits
    for _ in range(20):
        bucket.throttled(1.0)
    assert bucket.rate == MIN_RATE
    bucket.answered(2.0)
    assert MIN_RATE <= bucket.rate < 5.0
    bucket.answered(60.0)
    assert bucket.rate == 5.0


def test_answers_without_a_throttle_leave_the_rate_alone():
    """No throttle heard: the refill is EC2's."""
    bucket = Bucket(Shape(50.0, 5.0), now=0.0)
    bucket.answered(1.0)
    assert bucket.rate == 5.0


def test_the_limiter_counts_waits_and_throttles():
    """What the limiter made calls wait, and the throttles it heard, for the benchmark."""
    now = Now()
    limiter = Limiter(now)
    for _ in range(50):
        assert limiter.reserve("AssociateAddress") == 0.0
    assert limiter.reserve("AttachNetworkInterface") == pytest.approx(0.2)
    assert limiter.reserve("DescribeInstances") == 0.0  # the other bucket
    assert not limiter.slowed("AssociateAddress")
    limiter.answered("AssociateAddress", throttled=True)
    assert (limiter.waits, limiter.throttles) == (1, 1)
    assert limiter.slowed("AttachNetworkInterface")  # the same bucket
    assert not limiter.slowed("DescribeInstances")
    assert limiter.buckets["change"].rate < 5.0
    assert limiter.buckets["describe"].rate == 20.0


def _client(
    region: str = "us-east-1",
    endpoint: str = "https://ec2.us-east-1.amazonaws.com",
    service: str = "ec2",
    access_key: str | None = "AKIAEXAMPLE1",
) -> SimpleNamespace:
    credentials = SimpleNamespace(access_key=access_key) if access_key else None
    meta = SimpleNamespace(
        region_name=region,
        endpoint_url=endpoint,
        service_model=SimpleNamespace(service_name=service),
    )
    return SimpleNamespace(meta=meta, _request_signer=SimpleNamespace(_credentials=credentials))


def test_one_limiter_per_account_and_region_in_a_process():
    """Every client of one account and Region shares a limiter; another Region, endpoint or
    access key has its own; another service's client none."""
    reset_limiters()
    one = limiter_for(_client())
    assert one is not None
    assert limiter_for(_client()) is one
    assert limiter_for(_client(region="eu-west-1", endpoint="https://ec2.eu-west-1")) is not one
    assert limiter_for(_client(access_key="AKIAOTHERACCOUNT")) is not one
    assert limiter_for(_client(service="sts")) is None
    reset_limiters()
    assert limiter_for(_client()) is not one


def test_a_refreshable_credential_is_not_refreshed_to_find_its_key():
    """A role's credentials give their key as it stands (`_access_key`): reading
    `access_key` would refresh them, a call to STS."""
    reset_limiters()

    class Refreshable:
        _access_key = "ASIAROLE"

        @property
        def access_key(self) -> str:
            raise AssertionError("refreshed")

    client = _client(access_key=None)
    client._request_signer._credentials = Refreshable()
    assert limiter_for(client) is limiter_for(client)
    assert limiter_for(client) is not limiter_for(_client())


def test_a_throttle_sts_answered_while_signing_is_not_ec2s():
    """A call whose role credentials STS throttled never reached EC2: the budget of EC2's
    calls is not lowered for it, as it is for EC2's own throttle."""
    from botocore.exceptions import ClientError

    from eniops._gateway import _heard

    def throttle(by: str) -> ClientError:
        return ClientError({"Error": {"Code": "Throttling", "Message": "slow down"}}, by)

    limiter = Limiter(Now())
    _heard(limiter, "DescribeInstances", throttle("AssumeRole"))
    assert not limiter.slowed("DescribeInstances")
    _heard(limiter, "DescribeInstances", throttle("DescribeInstances"))
    assert limiter.slowed("DescribeInstances")
