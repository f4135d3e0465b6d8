"""A client passed as `ec2=` cannot make the deadline lie, nor multiply retries."""

from __future__ import annotations

import time

import boto3
import pytest
from botocore.config import Config
from support import ec2_stub

import eniops


def _client(endpoint, **config):
    return boto3.client(
        "ec2", region_name="us-east-1", endpoint_url=endpoint, config=Config(**config)
    )


def test_botocore_retries_do_not_multiply_eniops_retries():
    """A caller's client with botocore's legacy retries (5 attempts): one HTTP request per
    eniops attempt, and eniops' own retries end at the deadline."""
    with ec2_stub("throttle") as stub:
        client = _client(stub.endpoint, retries={"mode": "legacy", "max_attempts": 5})
        attempts = []
        client.meta.events.register("before-call.ec2", lambda **_: attempts.append(1))
        with pytest.raises(eniops.OperationTimeout) as caught:
            eniops.describe("i-0123456789abcdef0", ec2=client, timeout=1.0)
        assert "RequestLimitExceeded" in caught.value.message
        assert stub.requests == len(attempts) >= 2


def test_the_callers_other_calls_keep_their_retries():
    """Only eniops' own calls skip botocore's retries: the caller's client is otherwise as built."""
    with ec2_stub("throttle") as stub:
        client = _client(stub.endpoint, retries={"mode": "legacy", "total_max_attempts": 3})
        with pytest.raises(eniops.OperationTimeout):
            eniops.describe("i-0123456789abcdef0", ec2=client, timeout=0.3)
        before = stub.requests
        with pytest.raises(Exception, match="RequestLimitExceeded"):
            client.describe_instances(InstanceIds=["i-0123456789abcdef0"])
        assert stub.requests - before == 3


def test_a_hung_endpoint_cannot_stretch_the_deadline():
    """A caller's client with a 60 s read timeout: eniops gives up at its own deadline."""
    with ec2_stub("hang") as stub:
        client = _client(stub.endpoint, read_timeout=60, retries={"total_max_attempts": 1})
        started = time.monotonic()
        with pytest.raises(eniops.OperationTimeout) as caught:
            eniops.remap_eip(
                "eipalloc-0123456789abcdef0",
                to_instance="i-0123456789abcdef0",
                ec2=client,
                timeout=1.0,
            )
        elapsed = time.monotonic() - started
        assert stub.requests >= 1
        assert caught.value.details["timeout_s"] == 1.0
        # The contract: within the timeout (plus, for a change, its one bounded call). The
        # slack is for a loaded machine, not a speed claim.
        assert elapsed < 1.0 + 2.0
