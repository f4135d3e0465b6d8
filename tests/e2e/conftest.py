"""Fixtures for the end-to-end suites."""

from __future__ import annotations

import boto3
import pytest
from cli_process import free_port
from moto.server import ThreadedMotoServer

from eniops.testing import build_lab, create_lease_table


@pytest.fixture(scope="session")
def server():
    """A moto server on 127.0.0.1 for the whole session."""
    port = free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    moto.start()
    yield f"http://127.0.0.1:{port}"
    moto.stop()


@pytest.fixture
def lab(server):
    """A fresh lab (its own VPC) on the moto server."""
    client = boto3.client("ec2", region_name="us-east-1", endpoint_url=server)
    return build_lab(client)


class FakeContext:
    """What the handler reads of Lambda's context object."""

    aws_request_id = "req-0001"
    function_name = "eniops-failover"

    def __init__(self, remaining_s: float = 60.0) -> None:
        self.remaining_s = remaining_s

    def get_remaining_time_in_millis(self) -> int:
        return int(self.remaining_s * 1000)


LEASE_TABLE = "eniops-leases"


@pytest.fixture
def lam(world, monkeypatch):
    """The handler wired to the strict in-memory EC2 and to moto's CloudWatch, Auto Scaling
    (its lifecycle completions answered and recorded) and DynamoDB (the lease table); the
    active instance's standby by its tag; no other ENIOPS_* setting."""
    from eniops import aws_lambda
    from eniops.aws_lambda import _config
    from eniops.testing import StrictAutoScaling

    for name in (
        _config.STANDBY_ENV,
        _config.REQUIRE_TAG_ENV,
        _config.ROLE_ARN_ENV,
        _config.ALARM_PREFIX_ENV,
        "AWS_LAMBDA_LOG_LEVEL",
        "AWS_LAMBDA_FUNCTION_NAME",
    ):
        monkeypatch.delenv(name, raising=False)
    dynamodb = boto3.client("dynamodb", region_name="us-east-1")
    create_lease_table(dynamodb, LEASE_TABLE)
    monkeypatch.setenv(_config.LEASE_TABLE_ENV, LEASE_TABLE)
    autoscaling = boto3.client("autoscaling", region_name="us-east-1")
    clients = {
        "ec2": world.client,
        "cloudwatch": boto3.client("cloudwatch", region_name="us-east-1"),
        "autoscaling": autoscaling,
        "dynamodb": dynamodb,
    }
    for service, client in clients.items():
        aws_lambda.set_client(client, service)
    world.autoscaling = StrictAutoScaling(autoscaling)
    world.clients = clients
    with world.strict.internal() as client:
        client.create_tags(
            Resources=[world.lab.active],
            Tags=[{"Key": _config.STANDBY_TAG, "Value": world.lab.standby}],
        )
    yield world
    for service in clients:
        aws_lambda.set_client(None, service)
