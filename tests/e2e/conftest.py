"""Fixtures for the end-to-end suites."""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

import boto3
import node as node_module
import pytest
from cli_process import free_port, strict_env
from moto.server import ThreadedMotoServer
from support import fake_imds

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


class Host:
    """An instance's node: its own network namespace (eth0 with its private IP) where IMDSv2
    says it is `instance_id`, running the HA scripts with the venv's eniops on the strict
    layer against the moto server."""

    def __init__(self, node, imds, server: str) -> None:
        self.node = node
        self.imds = imds
        self.server = server
        self.eniops = str(Path(sys.executable).with_name("eniops"))

    def env(self, **more: str) -> dict[str, str]:
        path = os.pathsep.join(
            [str(Path(sys.executable).parent), "/usr/sbin", "/usr/bin", "/sbin", "/bin"]
        )
        return strict_env(
            {"AWS_EC2_METADATA_SERVICE_ENDPOINT": self.imds.endpoint, "PATH": path, **more}
        )

    def run(self, argv: list[str], **env: str):
        return self.node.run(argv, self.env(**env))


@pytest.fixture
def hosts(server, lab):
    """`hosts(instance_id)`: a Host for that instance of the lab (made once per test)."""
    reason = node_module.usable()
    if reason is not None:
        if os.environ.get("ENIOPS_REQUIRE_NODES"):
            pytest.fail(f"the HA node tests must run here: {reason}")
        pytest.skip(reason)
    client = boto3.client("ec2", region_name="us-east-1", endpoint_url=server)
    port = int(server.rsplit(":", 1)[1])
    made: dict[str, Host] = {}
    with contextlib.ExitStack() as stack:

        def make(instance_id: str) -> Host:
            if instance_id not in made:
                found = client.describe_instances(InstanceIds=[instance_id])["Reservations"][0]
                instance = found["Instances"][0]
                subnet = client.describe_subnets(SubnetIds=[instance["SubnetId"]])["Subnets"][0]
                ip = f"{instance['PrivateIpAddress']}/{subnet['CidrBlock'].split('/')[1]}"
                imds = stack.enter_context(fake_imds(instance_id, server=server))
                imds_port = int(imds.endpoint.rsplit(":", 1)[1])
                node = stack.enter_context(node_module.node([port, imds_port], ip))
                made[instance_id] = Host(node, imds, server)
            return made[instance_id]

        yield make
