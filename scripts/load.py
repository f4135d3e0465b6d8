"""Many failovers at once against EC2's request throttling: the load scenario shared by the
test suite (a reduced size) and the benchmark (the full size).

A moto server holds the account; a `ThrottlingProxy` in front of it plays EC2's token
buckets for every client together. Failovers run as threads (one client each, as separate
Lambda containers would have) or as separate `eniops failover` processes, released at one
instant. The figure that matters: the wall time over the least time the buckets allow for
the requests that were made.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import boto3

import eniops
from eniops.testing import ThrottlingProxy

INSTANCE_TYPE = "m5.4xlarge"  # 8 network interfaces: room for a primary and four more
ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_CONFIG_FILE": "/nonexistent",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
    "AWS_EC2_METADATA_DISABLED": "true",
}


@dataclass
class Pair:
    """A failover to run: the instance that failed and its standby."""

    source: str
    target: str
    eips: list[str] = field(default_factory=list)
    enis: list[str] = field(default_factory=list)
    #: (route table, destination) routed to the source's primary ENI.
    routes: list[tuple[str, str]] = field(default_factory=list)
    target_eni: str = ""


@dataclass
class Outcome:
    pair: Pair
    error: str | None
    elapsed: float


def quiet_server_logs() -> None:
    """The moto server logs every request; a load run makes thousands."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)


def client_for(endpoint: str) -> Any:
    return boto3.client("ec2", region_name="us-east-1", endpoint_url=endpoint)


def build(server: str, *, eip_pairs: int, eni_pairs: int, enis_per: int = 4) -> list[Pair]:
    """Instances in one zone: `eip_pairs` sources with an Elastic IP each, `eni_pairs` with
    `enis_per` ENIs each (from a subnet of their own), and a standby for each."""
    client = client_for(server)
    vpc = client.create_vpc(CidrBlock="10.8.0.0/16")["Vpc"]["VpcId"]
    zone = "us-east-1a"
    hosts = client.create_subnet(VpcId=vpc, CidrBlock="10.8.0.0/20", AvailabilityZone=zone)
    floating = client.create_subnet(VpcId=vpc, CidrBlock="10.8.16.0/20", AvailabilityZone=zone)
    image = client.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    count = 2 * (eip_pairs + eni_pairs)
    made = client.run_instances(
        ImageId=image,
        InstanceType=INSTANCE_TYPE,
        MinCount=count,
        MaxCount=count,
        SubnetId=hosts["Subnet"]["SubnetId"],
    )["Instances"]
    ids = [i["InstanceId"] for i in made]
    primaries = {i["InstanceId"]: i["NetworkInterfaces"][0]["NetworkInterfaceId"] for i in made}
    pairs = [Pair(ids[2 * n], ids[2 * n + 1]) for n in range(eip_pairs + eni_pairs)]
    for pair in pairs[:eip_pairs]:
        allocation = client.allocate_address(Domain="vpc")["AllocationId"]
        client.associate_address(AllocationId=allocation, NetworkInterfaceId=primaries[pair.source])
        pair.eips.append(allocation)
    for pair in pairs[eip_pairs:]:
        for index in range(1, enis_per + 1):
            eni = client.create_network_interface(SubnetId=floating["Subnet"]["SubnetId"])
            eni_id = eni["NetworkInterface"]["NetworkInterfaceId"]
            client.attach_network_interface(
                NetworkInterfaceId=eni_id, InstanceId=pair.source, DeviceIndex=index
            )
            pair.enis.append(eni_id)
    return pairs


def build_zone(server: str, *, eip_pairs: int, route_pairs: int) -> list[Pair]:
    """Pairs across two zones, each active in us-east-1a with an Elastic IP and its standby in
    us-east-1b: `eip_pairs` with the address only, `route_pairs` with an overlay route to the
    active too (what can leave a zone: an ENI cannot)."""
    client = client_for(server)
    vpc = client.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        client.create_subnet(VpcId=vpc, CidrBlock=cidr, AvailabilityZone=zone)["Subnet"]["SubnetId"]
        for cidr, zone in (("10.9.0.0/18", "us-east-1a"), ("10.9.64.0/18", "us-east-1b"))
    ]
    image = client.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    count = eip_pairs + route_pairs
    placed = []
    for subnet in subnets:
        made = client.run_instances(
            ImageId=image,
            InstanceType=INSTANCE_TYPE,
            MinCount=count,
            MaxCount=count,
            SubnetId=subnet,
        )["Instances"]
        placed.append(
            [(i["InstanceId"], i["NetworkInterfaces"][0]["NetworkInterfaceId"]) for i in made]
        )
    table = client.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    pairs = []
    for n, ((source, source_eni), (target, target_eni)) in enumerate(zip(*placed, strict=True)):
        pair = Pair(source, target, target_eni=target_eni)
        allocation = client.allocate_address(Domain="vpc")["AllocationId"]
        client.associate_address(AllocationId=allocation, NetworkInterfaceId=source_eni)
        pair.eips.append(allocation)
        if n >= eip_pairs:
            for eni in (source_eni, target_eni):  # routers: they forward the overlay's traffic
                client.modify_network_interface_attribute(
                    NetworkInterfaceId=eni, SourceDestCheck={"Value": False}
                )
            destination = f"192.168.{n // 250}.{n % 250 + 1}/32"
            client.create_route(
                RouteTableId=table, DestinationCidrBlock=destination, NetworkInterfaceId=source_eni
            )
            pair.routes.append((table, destination))
        pairs.append(pair)
    return pairs


def run_evacuation(proxy: ThrottlingProxy, pairs: list[Pair], zone: str) -> list[Outcome]:
    """One `evacuate` of `zone` for every pair, on one client."""
    started = time.monotonic()
    evacuation = eniops.evacuate(
        zone, pairs={p.source: p.target for p in pairs}, ec2=client_for(proxy.endpoint)
    )
    elapsed = time.monotonic() - started
    ended = {active: outcome for active, _, outcome in evacuation.pairs}
    return [
        Outcome(
            pair,
            None
            if isinstance(ended.get(pair.source), eniops.Result)
            else str(ended.get(pair.source)),
            elapsed,
        )
        for pair in pairs
    ]


def verify_routes(server: str, pairs: list[Pair]) -> list[str]:
    """Each pair's overlay routes to its standby's primary ENI."""
    client = client_for(server)
    tables = sorted({t for p in pairs for t, _ in p.routes})
    if not tables:
        return []
    routed = {
        (t["RouteTableId"], r.get("DestinationCidrBlock")): r.get("NetworkInterfaceId")
        for t in client.describe_route_tables(RouteTableIds=tables)["RouteTables"]
        for r in t["Routes"]
    }
    return [
        f"{destination} in {table} to {routed.get((table, destination))}"
        for pair in pairs
        for table, destination in pair.routes
        if routed.get((table, destination)) != pair.target_eni
    ]


def run_threads(proxy: ThrottlingProxy, pairs: list[Pair]) -> list[Outcome]:
    """Every failover on a thread of its own, with a client of its own, released at once."""
    clients = [client_for(proxy.endpoint) for _ in pairs]
    barrier = threading.Barrier(len(pairs))
    outcomes: list[Outcome] = []

    def one(pair: Pair, client: Any) -> None:
        barrier.wait()
        started = time.monotonic()
        try:
            eniops.failover_instance(pair.source, to_instance=pair.target, ec2=client)
            error = None
        except eniops.EniopsError as err:
            error = f"{type(err).__name__}: {err}"
        outcomes.append(Outcome(pair, error, time.monotonic() - started))

    threads = [
        threading.Thread(target=one, args=(p, c)) for p, c in zip(pairs, clients, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def run_processes(proxy: ThrottlingProxy, pairs: list[Pair]) -> list[Outcome]:
    """Every failover an `eniops failover` process of its own, as separate Lambda invocations
    would be, all released at one instant once every process has started."""
    start_at = time.time() + 3.0 + 0.25 * len(pairs)
    # Started early, released together: boto3 is loaded before the gate, as in a warm
    # Lambda container; the client is built after it.
    code = (
        "import sys, time, boto3; from eniops.cli import main; "
        f"time.sleep(max(0.0, {start_at} - time.time())); sys.exit(main(sys.argv[1:]))"
    )
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                code,
                "--endpoint-url",
                proxy.endpoint,
                "--output",
                "json",
                "failover",
                pair.source,
                "--to-instance",
                pair.target,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **ENV},
        )
        for pair in pairs
    ]
    outcomes = []
    for pair, proc in zip(pairs, procs, strict=True):
        out, err = proc.communicate(timeout=600)
        error = None if proc.returncode == 0 else (err.strip() or out.strip())[-400:]
        elapsed = json.loads(out).get("elapsed_s", 0.0) if proc.returncode == 0 else 0.0
        outcomes.append(Outcome(pair, error, elapsed))
    return outcomes


def verify(server: str, pairs: list[Pair]) -> list[str]:
    """Where everything ended: each Elastic IP and ENI on its standby."""
    client = client_for(server)
    wrong = []
    eips = [a for p in pairs for a in p.eips]
    if eips:
        holders = {
            e["NetworkInterfaceId"]: (e.get("Attachment") or {}).get("InstanceId")
            for e in client.describe_network_interfaces(
                Filters=[{"Name": "attachment.instance-id", "Values": [p.target for p in pairs]}]
            )["NetworkInterfaces"]
        }
        for address in client.describe_addresses(AllocationIds=eips)["Addresses"]:
            pair = next(p for p in pairs if address["AllocationId"] in p.eips)
            holder = holders.get(address.get("NetworkInterfaceId", ""))
            if holder != pair.target:
                wrong.append(f"{address['AllocationId']} on {holder}")
    enis = [e for p in pairs for e in p.enis]
    if enis:
        for eni in client.describe_network_interfaces(NetworkInterfaceIds=enis)[
            "NetworkInterfaces"
        ]:
            pair = next(p for p in pairs if eni["NetworkInterfaceId"] in p.enis)
            holder = (eni.get("Attachment") or {}).get("InstanceId")
            if holder != pair.target:
                wrong.append(f"{eni['NetworkInterfaceId']} on {holder}")
    return wrong
