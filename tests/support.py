"""Test helpers shared across the suites."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer, ThreadingHTTPServer
from types import SimpleNamespace
from typing import Any

import boto3
from moto import mock_aws

from eniops.testing import Lab, StrictEc2, add_enis, build_lab, short_waits

REGION = "us-east-1"


class NoCalls:
    """An EC2 client stand-in (shaped like one) that fails the test if anything is called."""

    calls: list[str]

    def __init__(self) -> None:
        self.calls = []
        # What eniops may look at to tell an EC2 client apart; calling anything is a call.
        self.meta = SimpleNamespace(service_model=SimpleNamespace(service_name="ec2"), events=None)

    def __getattr__(self, name: str) -> object:
        self.calls.append(name)
        raise AssertionError(f"an AWS call ({name}) was attempted")


class FakeImds(HTTPServer):
    """An IMDSv2 on 127.0.0.1 (or on ::1): token first, 401 without it, optionally expiring
    the first."""

    token = "tok-secret-123"

    def __init__(
        self,
        instance_id: str,
        *,
        expire_first_token: bool = False,
        ipv6: bool = False,
        server: str | None = None,
    ) -> None:
        self.address_family = socket.AF_INET6 if ipv6 else socket.AF_INET
        super().__init__(("::1" if ipv6 else "127.0.0.1", 0), _ImdsHandler)
        self.instance_id = instance_id
        self.tokens_issued = 0
        self.token_ttls: set[str] = set()
        self.expire_next_get = expire_first_token
        #: With a moto server, the primary interface's addresses are EC2's, read live (a real
        #: IMDS shows them after a lag; `hidden` plays that lag: addresses it does not show).
        self.server = server
        self.hidden: set[str] = set()

    def interface(self) -> dict[str, list[str]]:
        """The primary interface's public, private and IPv6 addresses, as EC2 has them now."""
        client = boto3.client("ec2", region_name=REGION, endpoint_url=self.server)
        found = client.describe_instances(InstanceIds=[self.instance_id])["Reservations"][0]
        eni = next(
            n
            for n in found["Instances"][0]["NetworkInterfaces"]
            if n["Attachment"]["DeviceIndex"] == 0
        )
        addresses = client.describe_addresses(
            Filters=[{"Name": "network-interface-id", "Values": [eni["NetworkInterfaceId"]]}]
        )["Addresses"]
        shown = {
            "public-ipv4s": [a["PublicIp"] for a in addresses],
            "local-ipv4s": [p["PrivateIpAddress"] for p in eni["PrivateIpAddresses"]],
            "ipv6s": [a["Ipv6Address"] for a in eni.get("Ipv6Addresses", [])],
        }
        return {k: [a for a in v if a not in self.hidden] for k, v in shown.items()}

    @property
    def endpoint(self) -> str:
        host = "[::1]" if self.address_family != socket.AF_INET else "127.0.0.1"
        return f"http://{host}:{self.server_address[1]}"


class _ImdsHandler(BaseHTTPRequestHandler):
    server: FakeImds

    def do_PUT(self):
        self.server.token_ttls.add(self.headers.get("X-aws-ec2-metadata-token-ttl-seconds", ""))
        self.server.tokens_issued += 1
        self._send(200, self.server.token)

    def do_GET(self):
        if self.headers.get("X-aws-ec2-metadata-token") != self.server.token:
            self._send(401, "")
            return
        if self.server.expire_next_get:
            self.server.expire_next_get = False
            self._send(401, "")  # the token expired: the client must fetch a new one
            return
        answers = {
            "/latest/meta-data/instance-id": self.server.instance_id,
            "/latest/meta-data/placement/region": "us-east-1",
        }
        prefix = "/latest/meta-data/network/interfaces/macs/02:00:00:00:00:01/"
        if self.server.server is not None:
            answers["/latest/meta-data/mac"] = prefix.split("/")[-2]
            if self.path.startswith(prefix):
                shown = self.server.interface().get(self.path[len(prefix) :])
                if shown:
                    answers[self.path] = "\n".join(shown)
        self._send(200, answers[self.path]) if self.path in answers else self._send(404, "")

    def _send(self, status, body):
        self.send_response(status)
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *_):
        pass


@contextmanager
def fake_imds(
    instance_id: str,
    *,
    expire_first_token: bool = False,
    ipv6: bool = False,
    server: str | None = None,
) -> Iterator[FakeImds]:
    """Serve a fake IMDSv2 for `instance_id` while the block runs (on ::1 with `ipv6`); with
    a moto `server`, the primary interface's addresses too (read from EC2 as it is)."""
    imds = FakeImds(instance_id, expire_first_token=expire_first_token, ipv6=ipv6, server=server)
    thread = threading.Thread(target=imds.serve_forever, daemon=True)
    thread.start()
    try:
        yield imds
    finally:
        imds.shutdown()
        imds.server_close()


THROTTLED_XML = (
    b'<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error>'
    b"<Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message>"
    b"</Error></Errors><RequestID>throttled</RequestID></Response>"
)


class _Ec2Stub(BaseHTTPRequestHandler):
    server: Ec2Stub
    protocol_version = "HTTP/1.1"  # answers `Expect: 100-continue`, which some botocores send

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self.server.requests += 1
        if self.server.mode == "hang":
            self.server.released.wait(30)
            return
        self.send_response(503)
        self.send_header("Connection", "close")  # one request per connection, every botocore
        self.close_connection = True
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(THROTTLED_XML)))
        self.end_headers()
        self.wfile.write(THROTTLED_XML)

    def log_message(self, *_):
        pass


class Ec2Stub(ThreadingHTTPServer):
    """An EC2 endpoint on 127.0.0.1 that throttles every call, or never answers."""

    daemon_threads = True

    def __init__(self, mode: str) -> None:
        super().__init__(("127.0.0.1", 0), _Ec2Stub)
        self.mode = mode
        self.requests = 0
        self.released = threading.Event()

    @property
    def endpoint(self) -> str:
        host = "[::1]" if self.address_family != socket.AF_INET else "127.0.0.1"
        return f"http://{host}:{self.server_address[1]}"


@contextmanager
def ec2_stub(mode: str) -> Iterator[Ec2Stub]:
    """Serve a throttling (`"throttle"`) or hanging (`"hang"`) EC2 endpoint while the block runs."""
    stub = Ec2Stub(mode)
    thread = threading.Thread(target=stub.serve_forever, daemon=True)
    thread.start()
    try:
        yield stub
    finally:
        stub.released.set()
        stub.shutdown()
        stub.server_close()


@dataclass
class World:
    """A moto EC2 with the lab built and the strict layer recording calls from now on."""

    client: object
    strict: StrictEc2
    lab: Lab

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

    def ips(self, eni_id: str) -> list[str]:
        """The private IPs of an ENI, as EC2 (the strict layer) shows them."""
        return [p["PrivateIpAddress"] for p in self.eni(eni_id)["PrivateIpAddresses"]]

    def address(self) -> dict:
        """The lab's Elastic IP as EC2 (the strict layer) shows it."""
        return self.client.describe_addresses(AllocationIds=[self.lab.eip])["Addresses"][0]

    def account(self) -> dict:
        """The whole account as EC2 (moto) holds it: instances (state, ENIs, tags), ENIs
        (attachments, IPs, tags), addresses, route tables, subnets and every tag."""
        with self.strict.internal() as client:
            reservations = client.describe_instances()["Reservations"]
            return {
                "instances": sorted(
                    (i["InstanceId"], i["State"]["Name"], i.get("Tags", []))
                    for r in reservations
                    for i in r["Instances"]
                ),
                "enis": client.describe_network_interfaces()["NetworkInterfaces"],
                "addresses": client.describe_addresses()["Addresses"],
                "tables": client.describe_route_tables()["RouteTables"],
                "subnets": client.describe_subnets()["Subnets"],
                "tags": client.describe_tags()["Tags"],
            }

    def own_eip_on(self, instance_id: str) -> str:
        """A new Elastic IP associated with the primary IP of `instance_id`; its id."""
        primary = self.primary_eni(instance_id)
        with self.strict.internal() as client:
            own = client.allocate_address(Domain="vpc")["AllocationId"]
            client.associate_address(
                AllocationId=own, NetworkInterfaceId=primary, AllowReassociation=False
            )
        return own


def more_enis(world: World, count: int, *, on: str | None = None) -> list[str]:
    """`count` more ENIs, each in a subnet of its own in zone a, attached to `on` (active)."""
    with world.strict.internal() as client:
        return add_enis(client, world.lab, count, instance_id=on)


@contextmanager
def strict_world(instance_type: str = "t3.large") -> Iterator[World]:
    """A lab on its own moto account under the strict layer, with short waits."""
    with mock_aws():
        client = boto3.client("ec2", region_name=REGION)
        lab = build_lab(client, instance_type=instance_type)
        strict = StrictEc2(client)
        with short_waits():
            yield World(client, strict, lab)


def client_in_account(role_arn: str) -> object:
    """An EC2 client of the account `role_arn` belongs to, through moto's STS."""
    sts = boto3.client("sts", region_name=REGION)
    creds = sts.assume_role(RoleArn=role_arn, RoleSessionName="setup")["Credentials"]
    return boto3.client(
        "ec2",
        region_name=REGION,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )


def v6_of(world: World, eni: str) -> list[str]:
    """The IPv6 addresses EC2 shows on an ENI."""
    return [a["Ipv6Address"] for a in world.eni(eni).get("Ipv6Addresses", [])]


def tags_of(world: World, eni: str) -> dict[str, str]:
    """The tags EC2 shows on an ENI."""
    return {t["Key"]: t["Value"] for t in world.eni(eni).get("TagSet", [])}


def deadline_passes_at(world: World, operation: str, monkeypatch: Any) -> None:
    """Make an operation's deadline pass the moment it sends `operation`: its clock jumps
    two minutes ahead then, so how long the reads before it take on a loaded machine does
    not decide which step times out. Give the operation a timeout well under two minutes."""
    jumped = {"by": 0.0}

    class Clock:
        @staticmethod
        def monotonic() -> float:
            return time.monotonic() + jumped["by"]

    def jump(**_: Any) -> None:
        jumped["by"] = 120.0

    monkeypatch.setattr("eniops._core._deadline.time", Clock)
    world.client.meta.events.register(f"before-call.ec2.{operation}", jump)


def free_port_url() -> str:
    """An http URL on 127.0.0.1 where nothing listens."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"
