"""Benchmarks in EC2 round trips and wall time, on moto with a fixed latency per call.

    .venv/bin/python scripts/bench.py

Prints ratios; the test suite never asserts on time.
"""

from __future__ import annotations

import math
import os
import time

import boto3
from moto import mock_aws

import eniops
from eniops.testing import StrictEc2, build_lab, reset_caches

LATENCY_S = 0.05


def world():
    client = boto3.client("ec2", region_name="us-east-1")
    lab = build_lab(client)
    strict = StrictEc2(client)

    def delay(**_):
        if not strict._is_internal():
            time.sleep(LATENCY_S)

    client.meta.events.register("before-call.ec2", delay)
    spans: list[list[float]] = []

    def start(**_):
        if not strict._is_internal():
            spans.append([time.monotonic(), math.inf])

    def end(**_):
        if not strict._is_internal():
            open_spans = [s for s in spans if s[1] == math.inf]
            if open_spans:
                open_spans[0][1] = time.monotonic()

    client.meta.events.register_first("before-call.ec2", start)
    client.meta.events.register("after-call.ec2", end)
    client.spans = spans
    return client, strict, lab


def round_trips(spans) -> int:
    """Sequential waves of calls: a wave starts when a call starts after all before it ended."""
    waves, wave_end = 0, -math.inf
    for begin, finish in sorted(spans):
        if begin >= wave_end:
            waves += 1
            wave_end = finish
        else:
            wave_end = max(wave_end, finish)
    return waves


def plain_boto3_remap(client, lab):
    """The same checks as eniops' remap, one call after another."""
    address = client.describe_addresses(AllocationIds=[lab.eip])["Addresses"][0]
    instance = client.describe_instances(InstanceIds=[lab.standby])["Reservations"][0]["Instances"][
        0
    ]
    eni = next(n for n in instance["NetworkInterfaces"] if n["Attachment"]["DeviceIndex"] == 0)
    assert address["InstanceId"] == lab.active
    client.associate_address(
        AllocationId=lab.eip,
        NetworkInterfaceId=eni["NetworkInterfaceId"],
        AllowReassociation=True,
    )
    client.describe_addresses(AllocationIds=[lab.eip])


def bench_remap() -> None:
    print(f"== remap_eip to an instance, all checks on ({LATENCY_S * 1000:.0f} ms per call)")
    with mock_aws():
        client, strict, lab = world()
        started = time.monotonic()
        plain_boto3_remap(client, lab)
        plain = time.monotonic() - started
        plain_calls = strict.count()
        plain_trips = round_trips(client.spans)
    with mock_aws():
        reset_caches()
        client, strict, lab = world()
        started = time.monotonic()
        eniops.remap_eip(lab.eip, to_instance=lab.standby, expect_current=lab.active, ec2=client)
        ours = time.monotonic() - started
        calls = strict.count()
        trips = round_trips(client.spans)
    print(
        f"  plain boto3, sequential: {plain_calls} calls, {plain_trips} round trips, {plain:.3f}s"
    )
    print(f"  eniops.remap_eip:        {calls} calls, {trips} round trips, {ours:.3f}s")
    print(
        f"  ratios eniops/plain: calls {calls / plain_calls:.2f}, "
        f"round trips {trips / plain_trips:.2f}, time {ours / plain:.2f}"
    )


def bench_move(hold_s: float = 3.0) -> None:
    print(f"\n== move_eni with EC2 holding 'detaching' and 'attaching' {hold_s:g}s each")
    with mock_aws():
        reset_caches()
        client, strict, lab = world()
        strict.hold("DetachNetworkInterface", seconds=hold_s)
        strict.hold("AttachNetworkInterface", seconds=hold_s)
        started = time.monotonic()
        eniops.move_eni(lab.floating_eni, to_instance=lab.standby, ec2=client)
        ours = time.monotonic() - started
        calls = strict.count()
    floor = 2 * hold_s
    fixed_5s = 2 * math.ceil(hold_s / 5) * 5
    waiter_20s = 20 + hold_s + 5  # the available waiter's first 20 s delay, then a fixed poll
    print(
        f"  eniops.move_eni: {ours:.2f}s for {floor:g}s of EC2 transitions "
        f"(overhead {ours - floor:.2f}s, {calls} calls)"
    )
    print(f"  fixed 5 s polls would take >= {fixed_5s:.0f}s (ratio {fixed_5s / ours:.1f}x)")
    print(
        f"  botocore's network_interface_available waiter: >= {waiter_20s:.0f}s "
        f"(ratio {waiter_20s / ours:.1f}x)"
    )


def bench_failover() -> None:
    print(
        "\n== failover_instance: k independent steps run concurrently "
        f"({LATENCY_S * 1000:.0f} ms per call)"
    )

    def lab_with_second_eni():
        client, strict, lab = world()
        with strict.internal():
            second = client.create_network_interface(SubnetId=lab.subnet_a2)["NetworkInterface"][
                "NetworkInterfaceId"
            ]
            client.attach_network_interface(
                NetworkInterfaceId=second, InstanceId=lab.active, DeviceIndex=2
            )
        return client, lab, second

    timings = {}
    for label in ("remap eip", "move eni 1", "move eni 2", "failover (all 3)"):
        with mock_aws():
            reset_caches()
            client, lab, second = lab_with_second_eni()
            started = time.monotonic()
            if label == "remap eip":
                eniops.remap_eip(lab.eip, to_instance=lab.standby, ec2=client)
            elif label == "move eni 1":
                eniops.move_eni(lab.floating_eni, to_instance=lab.standby, ec2=client)
            elif label == "move eni 2":
                eniops.move_eni(second, to_instance=lab.standby, ec2=client)
            else:
                eniops.failover_instance(lab.active, to_instance=lab.standby, ec2=client)
            timings[label] = time.monotonic() - started
    steps = [v for k, v in timings.items() if not k.startswith("failover")]
    whole = timings["failover (all 3)"]
    for label, seconds in timings.items():
        print(f"  {label:<17} {seconds:.3f}s")
    print(
        f"  failover / slowest step: {whole / max(steps):.2f}; "
        f"failover / sum of steps: {whole / sum(steps):.2f}"
    )


def bench_process(runs: int = 7) -> None:
    """A whole `eniops eip remap` process against a bare `aws ec2 associate-address`."""
    import logging
    import shutil
    import socket
    import statistics
    import subprocess
    import sys

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)

    print("\n== a whole process per failover, against the same local endpoint")
    aws = shutil.which("aws")
    if aws is None:
        print("  the AWS CLI is not installed (pip install awscli): skipped")
        return
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    try:
        client = boto3.client("ec2", region_name="us-east-1", endpoint_url=endpoint)
        lab = build_lab(client)
        enis = {
            i: client.describe_instances(InstanceIds=[i])["Reservations"][0]["Instances"][0][
                "NetworkInterfaces"
            ][0]["NetworkInterfaceId"]
            for i in (lab.active, lab.standby)
        }

        def timed(command):
            started = time.monotonic()
            subprocess.run(command, check=True, capture_output=True)
            return time.monotonic() - started

        ours, theirs = [], []
        for turn in range(runs):
            target = lab.standby if turn % 2 == 0 else lab.active
            ours.append(
                timed(
                    [
                        sys.executable,
                        "-m",
                        "eniops",
                        "--endpoint-url",
                        endpoint,
                        "eip",
                        "remap",
                        lab.eip,
                        "--to-instance",
                        target,
                    ]
                )
            )
            other = lab.active if turn % 2 == 0 else lab.standby
            theirs.append(
                timed(
                    [
                        aws,
                        "--endpoint-url",
                        endpoint,
                        "ec2",
                        "associate-address",
                        "--allocation-id",
                        lab.eip,
                        "--network-interface-id",
                        enis[other],
                        "--allow-reassociation",
                    ]
                )
            )
    finally:
        server.stop()
    mine, bare = statistics.median(ours), statistics.median(theirs)
    print(f"  eniops eip remap (4 calls, all checks, verified): median {mine:.3f}s")
    print(f"  aws ec2 associate-address (1 call, no checks):     median {bare:.3f}s")
    print(f"  ratio eniops/aws: {mine / bare:.2f}")


if __name__ == "__main__":
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    bench_remap()
    bench_move()
    bench_failover()
    bench_process()
