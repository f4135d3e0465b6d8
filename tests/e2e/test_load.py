"""Many failovers at once under EC2's request throttling (a reduced size of the benchmark's
50 Elastic IP and ten 4-ENI failovers; `scripts/bench.py load` runs the full size).

The buckets are made small so that throttling is certain: every failover still finishes,
none reports a throttling error, and everything ends on its standby.
"""

from __future__ import annotations

import load
import pytest
from cli_process import free_port
from moto.server import ThreadedMotoServer

from eniops.testing import ThrottlingProxy

SMALL_BUCKETS = {"mutating": (8, 5), "describes": (20, 20)}


@pytest.fixture
def account():
    """A moto server of its own: the load scenario's hundreds of resources stay out of the
    other tests' way."""
    load.quiet_server_logs()
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.mark.parametrize(
    "run", [load.run_threads, load.run_processes], ids=["threads", "processes"]
)
def test_failovers_at_once_ride_out_the_throttling(account, run, monkeypatch):
    for key, value in load.ENV.items():
        monkeypatch.setenv(key, value)
    pairs = load.build(account, eip_pairs=6, eni_pairs=2, enis_per=2)
    with ThrottlingProxy(account, **SMALL_BUCKETS) as proxy:
        outcomes = run(proxy, pairs)
    assert [o.error for o in outcomes if o.error] == []
    assert load.verify(account, pairs) == []
    assert sum(proxy.throttled.values()) > 0, "the buckets never ran dry: nothing was tested"
    # Every change was made once: a throttled call is refused, not carried out, and is
    # retried until it gets through.
    assert proxy.actions["AssociateAddress"] == 6
    assert proxy.actions["AttachNetworkInterface"] == 4


def test_one_budget_keeps_failovers_at_once_within_the_buckets(account, monkeypatch):
    """Failovers in threads of one process share one request budget shaped like the
    account's buckets: they wait for their tokens instead of drawing throttles (at most 0.2
    per request let through; without the budget they draw several), and all finish."""
    from eniops._gateway import _limiter

    for key, value in load.ENV.items():
        monkeypatch.setenv(key, value)
    shapes = {"describe": _limiter.Shape(20, 20), "change": _limiter.Shape(8, 5)}
    monkeypatch.setattr(_limiter, "SHAPES", shapes)
    _limiter.reset_limiters()
    pairs = load.build(account, eip_pairs=8, eni_pairs=2, enis_per=2)
    with ThrottlingProxy(account, **SMALL_BUCKETS) as proxy:
        outcomes = load.run_threads(proxy, pairs)
    assert [o.error for o in outcomes if o.error] == []
    assert load.verify(account, pairs) == []
    through = sum(proxy.actions.values())
    assert sum(proxy.throttled.values()) / through <= 0.2, (proxy.throttled, through)
    assert proxy.actions["AssociateAddress"] == 8


def test_the_proxy_refuses_over_the_limit_and_counts(account):
    """Two mutating requests pass a bucket of two; the third is RequestLimitExceeded."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import ClientError

    with ThrottlingProxy(account, mutating=(2, 0.001)) as proxy:
        client = boto3.client(
            "ec2",
            region_name="us-east-1",
            endpoint_url=proxy.endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(retries={"total_max_attempts": 1}),
        )
        for _ in range(2):
            client.allocate_address(Domain="vpc")
        with pytest.raises(ClientError) as refused:
            client.allocate_address(Domain="vpc")
    assert refused.value.response["Error"]["Code"] == "RequestLimitExceeded"
    assert proxy.allowed["mutating"] == 2
    assert proxy.throttled["mutating"] == 1
