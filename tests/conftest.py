"""Shared fixtures: fake credentials, an in-process moto EC2 under the strict layer."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import boto3
import pytest
from moto import mock_aws
from support import NoCalls

from eniops.testing import Lab, StrictEc2, build_lab, reset_caches, short_waits

REGION = "us-east-1"


@pytest.fixture(autouse=True)
def _aws_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test ever reaches a real account: fake credentials, a fixed region, fresh caches."""
    for key in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    reset_caches()
    yield
    reset_caches()


@dataclass
class World:
    """A moto EC2 with the lab built and the strict layer recording calls from now on."""

    client: object
    strict: StrictEc2
    lab: Lab
    extra_subnets: list = field(default_factory=list)

    def primary_eni(self, instance_id: str) -> str:
        with self.strict.internal() as client:
            raw = client.describe_instances(InstanceIds=[instance_id])
        enis = raw["Reservations"][0]["Instances"][0]["NetworkInterfaces"]
        return next(e["NetworkInterfaceId"] for e in enis if e["Attachment"]["DeviceIndex"] == 0)

    def eni(self, eni_id: str) -> dict:
        with self.strict.internal() as client:
            return client.describe_network_interfaces(NetworkInterfaceIds=[eni_id])[
                "NetworkInterfaces"
            ][0]

    def address(self) -> dict:
        """The lab's Elastic IP as EC2 (the strict layer) shows it."""
        return self.client.describe_addresses(AllocationIds=[self.lab.eip])["Addresses"][0]


@pytest.fixture
def world() -> Iterator[World]:
    """The lab on moto under the strict layer, with short retry and poll waits."""
    with mock_aws():
        client = boto3.client("ec2", region_name=REGION)
        lab = build_lab(client)
        strict = StrictEc2(client)
        with short_waits():
            yield World(client, strict, lab)


@pytest.fixture
def world_real_waits() -> Iterator[World]:
    """Like `world`, with eniops' production retry and poll waits."""
    with mock_aws():
        client = boto3.client("ec2", region_name=REGION)
        lab = build_lab(client)
        yield World(client, StrictEc2(client), lab)


@pytest.fixture
def no_calls() -> NoCalls:
    """A client that proves no AWS call is made."""
    return NoCalls()


def more_enis(world: World, count: int, *, on: str | None = None) -> list[str]:
    """`count` more ENIs, each in a subnet of its own in zone a, attached to `on` (active)."""
    instance_id = on or world.lab.active
    made = []
    with world.strict.internal() as client:
        used = {
            e["Attachment"]["DeviceIndex"]
            for e in client.describe_instances(InstanceIds=[instance_id])["Reservations"][0][
                "Instances"
            ][0]["NetworkInterfaces"]
        }
        for _ in range(count):
            subnet = client.create_subnet(
                VpcId=world.lab.vpc_id,
                CidrBlock=f"10.0.{100 + len(world.extra_subnets)}.0/24",
                AvailabilityZone=world.lab.zone_a,
            )["Subnet"]["SubnetId"]
            world.extra_subnets.append(subnet)
            eni = client.create_network_interface(SubnetId=subnet)["NetworkInterface"][
                "NetworkInterfaceId"
            ]
            index = next(i for i in range(1, 32) if i not in used)
            used.add(index)
            client.attach_network_interface(
                NetworkInterfaceId=eni, InstanceId=instance_id, DeviceIndex=index
            )
            made.append(eni)
    return made


@contextmanager
def strict_world(instance_type: str = "t3.large") -> Iterator[World]:
    """A lab on its own moto account under the strict layer, with short waits."""
    with mock_aws():
        client = boto3.client("ec2", region_name=REGION)
        lab = build_lab(client, instance_type=instance_type)
        strict = StrictEc2(client)
        with short_waits():
            yield World(client, strict, lab)


@pytest.fixture
def big_world() -> Iterator[World]:
    """The lab with m5.24xlarge instances (15 ENIs each), strict, short waits."""
    with strict_world("m5.24xlarge") as world:
        yield world
