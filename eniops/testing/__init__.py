"""A strict EC2 over moto: refuse what EC2 refuses, play slow transitions and faults.

moto models EC2's state well for happy paths but accepts much that EC2 refuses (cross-AZ
attaches, duplicate device indexes, IPs outside the subnet, ...) and makes every change
instant. `StrictEc2` wraps a boto3 EC2 client under moto with botocore event handlers so
that code under test meets EC2's rules::

    from moto import mock_aws
    from eniops.testing import StrictEc2, build_lab

    with mock_aws():
        client = boto3.client("ec2", region_name="us-east-1")
        lab = build_lab(client)                              # VPC, 2 zones, 3 instances, ...
        strict = StrictEc2(client)
        strict.hold("DetachNetworkInterface", polls=3)      # 'detaching' for 3 describes
        strict.inject("AssociateAddress", "RequestLimitExceeded", times=2)
        ...                                                  # your handler, with ec2=client
        assert strict.count("AssociateAddress") == 3

Install with ``pip install eniops[testing]``. It refuses (`NotMoto`) a client that would
reach a real account.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from .._core._settings import RetryPolicy, use_settings
from .._gateway._limiter import reset_limiters
from .._state._reads import clear_caches
from ._autoscaling import Completion, StrictAutoScaling
from ._faults import Holdable
from ._handler import create_lease_table, put_alarm
from ._lab import (
    MOTO_IMAGE_ID,
    Lab,
    NotMoto,
    add_enis,
    add_instances,
    add_zone_pairs,
    build_lab,
    dual_stack,
    require_moto,
)
from ._recorder import MUTATING_OPERATIONS, Call, Recorder, round_trips
from ._rules import reserved
from ._strict import StrictEc2
from ._throttle import ThrottlingProxy, TokenBucket

__all__ = [
    "MOTO_IMAGE_ID",
    "MUTATING_OPERATIONS",
    "Call",
    "Completion",
    "Holdable",
    "Lab",
    "NotMoto",
    "Recorder",
    "StrictAutoScaling",
    "StrictEc2",
    "ThrottlingProxy",
    "TokenBucket",
    "add_enis",
    "add_instances",
    "add_zone_pairs",
    "build_lab",
    "create_lease_table",
    "dual_stack",
    "fast_policy",
    "put_alarm",
    "require_moto",
    "reserved",
    "reset_caches",
    "round_trips",
    "short_waits",
]


def fast_policy() -> RetryPolicy:
    """A retry policy with short waits, for tests that do not measure waiting: every first
    wait 5 ms, every cap 20 ms, no describe budget to speak of."""
    firsts = ("backoff_first_s", "not_found_first_s", "poll_first_s", "settle_pause_s")
    caps = ("backoff_cap_s", "not_found_cap_s", "poll_cap_s")
    short: dict[str, Any] = {
        **dict.fromkeys(firsts, 0.005),
        **dict.fromkeys(caps, 0.02),
        **dict.fromkeys(("poll_describes_per_s", "poll_burst"), 1000.0),
    }
    return replace(
        RetryPolicy(not_found_window_s=0.1, poll_growth=1.5, confirm_after_s=0.01), **short
    )


@contextmanager
def short_waits() -> Iterator[None]:
    """Operations started within the block retry and poll with `fast_policy` (tests only)."""
    with use_settings(policy=fast_policy()):
        yield


def reset_caches() -> None:
    """Forget eniops' cached instance-type limits and subnet ranges, and the request budget
    it keeps per account and Region (as a new process starts with)."""
    clear_caches()
    reset_limiters()
