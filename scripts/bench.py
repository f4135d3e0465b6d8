"""Benchmarks in EC2 round trips, describe rates and wall time, on moto with every call a
fixed round trip (`StrictEc2.latency_s`, the simulated EC2's work inside it, as EC2's is),
each figure printed beside its limit.

    .venv/bin/python scripts/bench.py [SECTION ...]      # sections: see SECTIONS below

Prints figures and ratios; the test suite never asserts on speed.
"""

from __future__ import annotations

import gc
import io
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass
from typing import Any

import boto3
from moto import mock_aws

import eniops
from eniops._core._settings import DEFAULT_POLICY
from eniops._gateway._limiter import reset_limiters
from eniops.testing import (
    MUTATING_OPERATIONS,
    Lab,
    Recorder,
    StrictEc2,
    add_enis,
    build_lab,
    create_lease_table,
    dual_stack,
    put_alarm,
    reset_caches,
    round_trips,
)

LATENCY_S = 0.025
BIG = "m5.24xlarge"  # 15 network interfaces: room for a failover of 8 ENIs


@dataclass
class World:
    client: Any
    strict: StrictEc2
    lab: Lab


@contextmanager
def world(instance_type: str = "t3.large", latency_s: float = LATENCY_S) -> Iterator[World]:
    """A lab on its own moto account under the strict layer, each call a `latency_s` round
    trip."""
    with mock_aws():
        client = boto3.client("ec2", region_name="us-east-1")
        lab = build_lab(client, instance_type=instance_type)
        strict = StrictEc2(client, latency_s=latency_s)
        yield World(client, strict, lab)


def verdict(figure: float, limit: float, *, at_most: bool = True) -> str:
    met = figure <= limit if at_most else figure >= limit
    return "met" if met else "NOT MET"


def line(label: str, figure: str, limit: str, status: str) -> None:
    print(f"  {label:<58} {figure:>10}   limit {limit:<8} {status}")


def before_first_change(strict: StrictEc2) -> list[Any]:
    calls = strict.calls
    first = next((i for i, c in enumerate(calls) if c.operation in MUTATING_OPERATIONS), len(calls))
    return calls[:first]


def timed(run: Callable[[], Any]) -> float:
    # The garbage of the labs built before (moto's backends: some 60 000 objects in cycles)
    # is collected first, so a full collection of it does not land inside the timed run;
    # collection stays on, as in production, for what the run itself leaves.
    gc.collect()
    started = time.monotonic()
    run()
    return time.monotonic() - started


# -- issue: failover as one plan ------------------------------------------------------------


def bench_move_round_trips() -> None:
    from eniops._state import _instance_types

    with world() as w:
        eniops.describe(w.lab.standby, ec2=w.client)  # the instance type, now cached
        w.strict.reset_calls()
        eniops.move_eni(w.lab.floating_eni, to_instance=w.lab.standby, ec2=w.client)
        trips = round_trips(before_first_change(w.strict))
    line(
        "move_eni: round trips before the first change (type cached)",
        str(trips),
        "2",
        verdict(trips, 2),
    )
    # A cold process (a Lambda's first event): the type's limits from the shipped table, or
    # read once the instance shows its type, as before the table.
    cold = {}
    for name, table in (("table", None), ("no table", {})):
        if table is not None:
            _instance_types._loaded[:] = [table]
        with world() as w:
            eniops.move_eni(w.lab.floating_eni, to_instance=w.lab.standby, ec2=w.client)
            cold[name] = round_trips(before_first_change(w.strict))
        _instance_types.forget()
    line(
        "move_eni, cold: round trips before the first change (table / none)",
        f"{cold['table']} / {cold['no table']}",
        "one fewer",
        verdict(cold["table"], cold["no table"] - 1),
    )


def _failover_lab(w: World, enis: int) -> list[str]:
    with w.strict.internal() as client:
        moving = add_enis(client, w.lab, enis - 1)
    eniops.describe(w.lab.standby, ec2=w.client)  # cache the standby's type, as a warm Lambda
    w.strict.reset_calls()
    return [w.lab.floating_eni, *moving]


def against_slowest(label: str, whole: float, steps: dict[str, float]) -> None:
    """A failover's time beside its slowest single step's (limit 1.3)."""
    slowest = max(steps.values())
    print(
        "  (steps alone: "
        + ", ".join(f"{name} {seconds:.3f}s" for name, seconds in steps.items())
        + f"; the failover {whole:.3f}s)"
    )
    line(
        f"{label}: time / slowest single step",
        f"{whole / slowest:.2f}",
        "1.3",
        verdict(whole / slowest, 1.3),
    )


def bench_failover_steps() -> None:
    with world(BIG) as w:
        _failover_lab(w, 7)
        whole = timed(
            lambda: eniops.failover_instance(w.lab.active, to_instance=w.lab.standby, ec2=w.client)
        )
        trips = round_trips(before_first_change(w.strict))
    steps: dict[str, float] = {}
    with world(BIG) as w:
        enis = _failover_lab(w, 7)
        # Each step guarded as the failover guards it (expect_current: the failed instance).
        active = w.lab.active
        steps["remap_eip"] = timed(
            lambda: eniops.remap_eip(
                w.lab.eip, to_instance=w.lab.standby, expect_current=active, ec2=w.client
            )
        )
        steps["move_eni"] = timed(
            lambda: eniops.move_eni(
                enis[0], to_instance=w.lab.standby, expect_current=active, ec2=w.client
            )
        )
        steps["move_route"] = timed(
            lambda: eniops.move_route(
                w.lab.overlay, to_instance=w.lab.standby, expect_current=active, ec2=w.client
            )
        )
    against_slowest("failover 1 EIP + 7 ENIs", whole, steps)
    line(
        "failover 1 EIP + 7 ENIs: round trips before the first change",
        str(trips),
        "6",
        verdict(trips, 6),
    )


def bench_failover_transitions(hold_s: float = 3.0) -> None:
    # From a full request budget: right after the section's other failovers the change
    # bucket they drained (50, 5 a second) holds this one back, as EC2's would (7.9 s).
    reset_limiters()
    with world(BIG) as w:
        _failover_lab(w, 8)
        w.strict.hold("DetachNetworkInterface", seconds=hold_s)
        w.strict.hold("AttachNetworkInterface", seconds=hold_s)
        whole = timed(
            lambda: eniops.failover_instance(w.lab.active, to_instance=w.lab.standby, ec2=w.client)
        )
        describes = sum(1 for c in w.strict.calls if c.operation.startswith("Describe"))
    rate = describes / whole
    print(f"  (EC2 holds 'detaching' and 'attaching' {hold_s:g} s each: {2 * hold_s:g} s floor)")
    line("failover of 8 ENIs: seconds", f"{whole:.2f}", "6.7", verdict(whole, 6.7))
    line("failover of 8 ENIs: describe calls per second", f"{rate:.2f}", "4", verdict(rate, 4))


def section_plans() -> None:
    print(f"== failover as one plan ({LATENCY_S * 1000:.0f} ms a call)")
    bench_move_round_trips()
    bench_failover_steps()
    bench_failover_transitions()


# -- issue: overlay routes ------------------------------------------------------------------


def _three_tables(w: World) -> list[str]:
    with w.strict.internal() as client:
        third = client.create_route_table(VpcId=w.lab.vpc_id)["RouteTable"]["RouteTableId"]
        primary = client.describe_instances(InstanceIds=[w.lab.active])["Reservations"][0][
            "Instances"
        ][0]["NetworkInterfaces"][0]["NetworkInterfaceId"]
        client.create_route(
            RouteTableId=third, DestinationCidrBlock=w.lab.overlay, NetworkInterfaceId=primary
        )
    w.strict.reset_calls()
    return [*w.lab.route_tables, third]


def plain_route_move(client: Any, lab: Lab, tables: list[str]) -> None:
    """The same checks in turn with plain boto3: target, tables, each replace, each verify."""
    found = client.describe_instances(InstanceIds=[lab.standby])["Reservations"][0]["Instances"][0]
    eni = found["NetworkInterfaces"][0]
    assert not client.describe_network_interfaces(NetworkInterfaceIds=[eni["NetworkInterfaceId"]])[
        "NetworkInterfaces"
    ][0]["SourceDestCheck"]
    client.describe_route_tables(RouteTableIds=tables)
    for table in tables:
        client.replace_route(
            RouteTableId=table,
            DestinationCidrBlock=lab.overlay,
            NetworkInterfaceId=eni["NetworkInterfaceId"],
        )
    for table in tables:
        client.describe_route_tables(RouteTableIds=[table])


def section_routes() -> None:
    print(f"\n== move_route over 3 route tables ({LATENCY_S * 1000:.0f} ms a call)")
    with world() as w:
        tables = _three_tables(w)
        ours = timed(
            lambda: eniops.move_route(w.lab.overlay, to_instance=w.lab.standby, ec2=w.client)
        )
        calls = list(w.strict.calls)
        trips = round_trips(calls)
    with world() as w:
        tables = _three_tables(w)
        plain = timed(lambda: plain_route_move(w.client, w.lab, tables))
        plain_trips = round_trips(w.strict.calls)
    print(f"  (eniops {len(calls)} calls in {ours:.3f}s; plain boto3 in turn {plain:.3f}s)")
    line("move_route: round trips, verification included", str(trips), "3", verdict(trips, 3))
    line("plain boto3 doing the same checks in turn: round trips", str(plain_trips), "-", "")
    line("eniops / plain boto3: time", f"{ours / plain:.2f}", "-", "")


# -- a whole process ------------------------------------------------------------------------


def section_process(runs: int = 11) -> None:
    """A whole `eniops eip remap` process against a bare `aws ec2 associate-address`."""
    import logging
    import shutil
    import socket
    import statistics
    import subprocess

    from moto.server import ThreadedMotoServer

    aws = shutil.which("aws") or os.path.join(os.path.dirname(sys.executable), "aws")
    if not os.path.exists(aws):
        print("\n== process: the AWS CLI is not installed; skipped")
        return
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    try:
        client = boto3.client("ec2", region_name="us-east-1", endpoint_url=endpoint)
        lab = build_lab(client)
        standby = client.describe_instances(InstanceIds=[lab.standby])["Reservations"][0][
            "Instances"
        ][0]["NetworkInterfaces"][0]["NetworkInterfaceId"]
        ours, theirs = [], []
        for n in range(runs):
            target = lab.standby if n % 2 == 0 else lab.active
            command = [
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
            ours.append(
                timed(lambda c=command: subprocess.run(c, env=env, check=True, capture_output=True))
            )
            bare = [
                aws,
                "--endpoint-url",
                endpoint,
                "ec2",
                "associate-address",
                "--allocation-id",
                lab.eip,
                "--network-interface-id",
                standby,
                "--allow-reassociation",
            ]
            theirs.append(
                timed(lambda c=bare: subprocess.run(c, env=env, check=True, capture_output=True))
            )
    finally:
        server.stop()
    median_ours, median_theirs = statistics.median(ours), statistics.median(theirs)
    print(f"\n== a whole process, median of {runs}")
    print(
        f"  (eniops eip remap, checked and verified {median_ours:.2f}s; bare aws ec2 "
        f"associate-address {median_theirs:.2f}s)"
    )
    ratio = median_ours / median_theirs
    line("eniops process / aws CLI process", f"{ratio:.2f}", "1.0", verdict(ratio, 1.0))


# -- issue: chaos, races, load ----------------------------------------------------------------


def section_races(runs: int = 20) -> None:
    """The window EC2 leaves between eniops' read and its write (no compare-and-swap)."""
    windows, inner, calls = [], [], []
    for n in range(runs):
        with world() as w:
            target = w.lab.standby if n % 2 == 0 else w.lab.active
            source = w.lab.active if target == w.lab.standby else w.lab.standby
            if target == w.lab.active:
                eniops.remap_eip(w.lab.eip, to_instance=source, ec2=w.client)
                w.strict.reset_calls()
            eniops.remap_eip(w.lab.eip, to_instance=target, expect_current=source, ec2=w.client)
            write = next(c for c in w.strict.calls if c.operation == "AssociateAddress")
            read = max(
                (
                    c
                    for c in w.strict.calls
                    if c.operation == "DescribeAddresses" and c.at < write.at
                ),
                key=lambda c: c.at,
            )
            windows.append(write.ended - read.at)
            inner.append(write.at - read.ended)
            calls.extend(c.ended - c.at for c in w.strict.calls if c.ended)
    call = statistics.median(calls)
    window, own = statistics.median(windows), statistics.median(inner)
    print(f"== races: the read-to-write window of a guarded remap_eip, median of {runs}")
    print(
        f"  (a call takes {call * 1000:.0f} ms; the window, from the read's sending to the "
        f"write's answer, is {window * 1000:.0f} ms = {window / call:.2f} calls: the two calls "
        "themselves and eniops' own time between them. A competing write is seen when it lands "
        f"within confirm_after_s = {DEFAULT_POLICY.confirm_after_s} s of ours)"
    )
    line(
        "eniops' own time, read answered -> write sent, in calls",
        f"{own / call:.2f}",
        "0.5",
        verdict(own / call, 0.5),
    )


def section_load() -> None:
    """50 Elastic IP failovers and ten 4-ENI failovers at once, against EC2's buckets."""
    import load

    from eniops.testing import ThrottlingProxy

    load.quiet_server_logs()
    for key, value in load.ENV.items():
        os.environ[key] = value
    print("== load: 50 Elastic IP and ten 4-ENI failovers at once, EC2's token buckets")
    for name, run in (("threads", load.run_threads), ("processes", load.run_processes)):
        with moto_server() as url:
            pairs = load.build(url, eip_pairs=50, eni_pairs=10)
            with ThrottlingProxy(url) as proxy:
                outcomes = run(proxy, pairs)
                wall, least = proxy.last - proxy.first, proxy.least_time()
            errors = [o.error for o in outcomes if o.error]
            wrong = load.verify(url, pairs)
        print(
            f"  ({name}: {wall:.1f} s; the buckets allow {least:.1f} s for the "
            f"{sum(proxy.allowed.values())} requests made; {sum(proxy.throttled.values())} "
            f"answered RequestLimitExceeded; {len(errors)} failovers failed, "
            f"{len(wrong)} resources misplaced)"
        )
        if errors:
            print(f"  first error: {errors[0]}")
        line(
            f"{name}: wall time / what the buckets allow",
            f"{wall / least:.2f}",
            "1.3",
            verdict(wall / least, 1.3) if not errors and not wrong else "NOT MET",
        )
        # Threads share one process's request budget; processes have one each (no limit).
        per_request = sum(proxy.throttled.values()) / max(1, sum(proxy.allowed.values()))
        line(
            f"{name}: throttled answers per request let through",
            f"{per_request:.2f}",
            "0.2" if name == "threads" else "-",
            verdict(per_request, 0.2) if name == "threads" else "",
        )


@contextmanager
def moto_server() -> Iterator[str]:
    """A moto server in a process of its own on 127.0.0.1 (its account empty): its endpoint.
    EC2 is not in the caller's process: a server in it would take the interpreter's lock
    from the failovers' threads (and keep every run's instances, in moto's process-wide
    accounts, in the next run's describes), measuring moto's share of the CPU, not eniops'."""
    import socket
    import subprocess
    import urllib.request

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(300):  # up in well under a second; 30 s at the most
            try:
                urllib.request.urlopen(f"{url}/moto-api/data.json", timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError("the moto server did not start")
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


def _zone_run(name: str, eip_pairs: int, route_pairs: int, runner: str) -> tuple[float, float]:
    """`_zone_case` in a process of its own (each run a new process's, its heap and budget its
    own, not the runs' before): its figures printed; returns the wall time and what the
    buckets allow."""
    import subprocess

    args = [sys.executable, __file__, "--zone-case", name, str(eip_pairs), str(route_pairs)]
    found = subprocess.run([*args, runner], capture_output=True, text=True, check=False)
    *shown, last = found.stdout.splitlines() or ["?"]
    print("\n".join(shown))
    if found.returncode != 0 or not last.startswith("wall-least "):
        raise RuntimeError(f"{name}: {found.stderr[-2000:] or last}")
    wall, least = (float(x) for x in last.split()[1:])
    return wall, least


def _zone_case(name: str, eip_pairs: int, route_pairs: int, runner: str) -> None:
    """Pairs across two zones, moved out of us-east-1a by `runner` (``evacuate``: one call;
    ``threads``: a failover_instance per pair, each on a thread), through EC2's buckets: the
    figures beside their limits, then ``wall-least WALL LEAST``."""
    import load

    from eniops.testing import ThrottlingProxy

    load.quiet_server_logs()
    for key, value in load.ENV.items():
        os.environ[key] = value
    runs: dict[str, Callable[..., Any]] = {
        "evacuate": lambda proxy, pairs: load.run_evacuation(proxy, pairs, "us-east-1a"),
        "threads": load.run_threads,
    }
    run = runs[runner]
    with moto_server() as url:
        pairs = load.build_zone(url, eip_pairs=eip_pairs, route_pairs=route_pairs)
        with ThrottlingProxy(url) as proxy:
            gc.collect()  # the runs before: their garbage is not this run's (as in `timed`)
            outcomes = run(proxy, pairs)
            wall, least = proxy.last - proxy.first, proxy.least_time()
        errors = [o.error for o in outcomes if o.error]
        wrong = load.verify(url, pairs) + load.verify_routes(url, pairs)
    throttled, through = sum(proxy.throttled.values()), sum(proxy.allowed.values())
    print(
        f"  ({name}: {len(pairs)} pairs in {wall:.1f} s; the buckets allow {least:.1f} s for the "
        f"{through} requests made; {throttled} answered RequestLimitExceeded; "
        f"{len(pairs) - len(errors)} moved, {len(errors)} not, {len(wrong)} resources misplaced)"
    )
    if errors:
        print(f"  first error: {errors[0][:300]}")
    whole = not errors and not wrong
    line(
        f"{name}: wall time / what the buckets allow",
        f"{wall / least:.2f}",
        "1.1",
        verdict(wall / least, 1.1) if whole else "NOT MET",
    )
    line(
        f"{name}: throttled answers per request let through",
        f"{throttled / through:.2f}",
        "0.2",
        verdict(throttled / through, 0.2) if whole else "NOT MET",
    )
    print(f"wall-least {wall} {least}")


def section_evacuate() -> None:
    """A zone evacuated: 60 pairs by one call, the same as 60 failovers in threads, and 200
    pairs for the slope, through EC2's buckets (an Elastic IP each; a third with an overlay
    route too: an ENI cannot leave its zone), each run in a process of its own."""
    print("== evacuate: pairs out of us-east-1a, EC2's token buckets")
    _zone_run("60 pairs, one evacuate", 40, 20, "evacuate")
    _zone_run("60 pairs, 60 failover_instance threads", 40, 20, "threads")
    small, small_least = _zone_run("100 pairs, one evacuate", 67, 33, "evacuate")
    large, large_least = _zone_run("200 pairs, one evacuate", 133, 67, "evacuate")
    slope, buckets = (large - small) / 100, (large_least - small_least) / 100
    print(f"  (from 100 to 200 pairs: {slope:.3f} s a pair; the buckets' own {buckets:.3f})")
    line(
        "200 pairs: slope / the buckets' slope",
        f"{slope / buckets:.2f}",
        "1.1",
        verdict(slope / buckets, 1.1),
    )


# -- single operations: no idle time ------------------------------------------------------


def plain_remap(client: Any, lab: Lab) -> None:
    """The same checks in turn with plain boto3: the address, the target, the associate, a
    verifying read."""
    client.describe_addresses(AllocationIds=[lab.eip])
    found = client.describe_instances(InstanceIds=[lab.standby])["Reservations"][0]["Instances"][0]
    eni = next(n for n in found["NetworkInterfaces"] if n["Attachment"]["DeviceIndex"] == 0)
    client.associate_address(
        AllocationId=lab.eip,
        NetworkInterfaceId=eni["NetworkInterfaceId"],
        AllowReassociation=True,
    )
    client.describe_addresses(AllocationIds=[lab.eip])


def naive_move(client: Any, lab: Lab) -> None:
    """A naive move with plain boto3: read the ENI, detach, read until available, attach at
    the next index, read until attached (EC2 answering at once: one read each)."""
    eni = client.describe_network_interfaces(NetworkInterfaceIds=[lab.floating_eni])
    attachment = eni["NetworkInterfaces"][0]["Attachment"]["AttachmentId"]
    client.detach_network_interface(AttachmentId=attachment)
    client.describe_network_interfaces(NetworkInterfaceIds=[lab.floating_eni])
    client.attach_network_interface(
        NetworkInterfaceId=lab.floating_eni, InstanceId=lab.standby, DeviceIndex=1
    )
    client.describe_network_interfaces(NetworkInterfaceIds=[lab.floating_eni])


def _median_of(runs: int, once: Callable[[World], float]) -> float:
    times = []
    for _ in range(runs):
        with world() as w:
            eniops.describe(w.lab.standby, ec2=w.client)  # a warm client: the type is cached
            w.strict.reset_calls()
            times.append(once(w))
    return statistics.median(times)


def _own_time(calls: list[Any], total: float) -> float:
    """The part of `total` when no call to EC2 was in flight: eniops' own time."""
    busy, end = 0.0, float("-inf")
    for call in sorted(calls, key=lambda c: c.at):
        start, stop = max(call.at, end), call.ended or call.at
        busy += max(0.0, stop - start)
        end = max(end, stop)
    return total - busy


def _remap_once(w: World) -> tuple[float, float, int]:
    started = time.monotonic()
    eniops.remap_eip(w.lab.eip, to_instance=w.lab.standby, ec2=w.client)
    total = time.monotonic() - started
    calls = [c for c in w.strict.calls if c.at >= started]
    return total, _own_time(calls, total), round_trips(calls)


def section_single(runs: int = 7) -> None:
    print(f"\n== single operations, no idle time ({LATENCY_S * 1000:.0f} ms a call)")
    remaps = []
    for _ in range(runs):
        with world() as w:
            eniops.describe(w.lab.standby, ec2=w.client)  # a warm client: the type is cached
            w.strict.reset_calls()
            remaps.append(_remap_once(w))
    remap = statistics.median(r[0] for r in remaps)
    own = statistics.median(r[1] for r in remaps)
    trips = max(r[2] for r in remaps)
    plain = _median_of(runs, lambda w: timed(lambda: plain_remap(w.client, w.lab)))
    print(
        f"  (remap_eip {remap * 1000:.0f} ms in {trips} round trips, of which {own * 1000:.0f} ms "
        f"outside EC2's calls; plain boto3 doing the same checks in turn {plain * 1000:.0f} ms)"
    )
    line("remap_eip, no guard: round trips", str(trips), "3", verdict(trips, 3))
    line(
        "remap_eip: eniops' own time beyond them, ms",
        f"{own * 1000:.0f}",
        "20",
        verdict(own, 0.020),
    )
    ratio = remap / plain
    line(
        "remap_eip / plain boto3 doing the same checks", f"{ratio:.2f}", "0.8", verdict(ratio, 0.8)
    )
    move = _median_of(
        runs,
        lambda w: timed(
            lambda: eniops.move_eni(w.lab.floating_eni, to_instance=w.lab.standby, ec2=w.client)
        ),
    )
    naive = _median_of(runs, lambda w: timed(lambda: naive_move(w.client, w.lab)))
    print(f"  (move_eni {move * 1000:.0f} ms; naive boto3 move {naive * 1000:.0f} ms)")
    ratio = move / naive
    line(
        "move_eni / naive boto3 move (EC2 answers at once)",
        f"{ratio:.2f}",
        "1.3",
        verdict(ratio, 1.3),
    )


def section_readiness() -> None:
    """`check_failover` and `release_eip`, in round trips (25 ms per call)."""
    print(f"\n== readiness and release ({LATENCY_S * 1000:.0f} ms a call)")
    with world(BIG) as w:
        _failover_lab(w, 7)
        reset_caches()  # a cold Lambda: the standby's type not known yet
        w.strict.reset_calls()
        cold = timed(
            lambda: eniops.check_failover(w.lab.active, to_instance=w.lab.standby, ec2=w.client)
        )
        cold_trips = round_trips(w.strict.calls)
        dry = sum(1 for c in w.strict.calls if c.params.get("DryRun"))
        # The same check again at once: its DryRun calls wait for the request budget the first
        # one spent (EC2 counts them against its buckets too), as a second process's would not.
        w.strict.reset_calls()
        eniops.check_failover(w.lab.active, to_instance=w.lab.standby, ec2=w.client)
        again_trips = round_trips(w.strict.calls)
        reset_limiters()
        w.strict.reset_calls()
        readiness = eniops.check_failover(w.lab.active, to_instance=w.lab.standby, ec2=w.client)
        warm_trips = round_trips(w.strict.calls)
    assert readiness.ready, readiness.problems
    print(
        f"  (1 EIP + 7 ENIs + 2 routes: {dry} calls tried with DryRun=True; {cold:.3f} s with "
        f"the instance type not cached yet)"
    )
    line(
        "check_failover: round trips, type not cached", str(cold_trips), "3", verdict(cold_trips, 3)
    )
    line(
        "check_failover: round trips, type cached, budget full",
        str(warm_trips),
        "3",
        verdict(warm_trips, 3),
    )
    line("check_failover: round trips, right after another (one budget)", str(again_trips), "-", "")
    with world() as w:
        released = timed(
            lambda: eniops.release_eip(w.lab.eip, expect_current=w.lab.active, ec2=w.client)
        )
        trips = round_trips(w.strict.calls)
    print(f"  (release_eip {released * 1000:.0f} ms, its confirmation read included)")
    line("release_eip: round trips, verification included", str(trips), "3", verdict(trips, 3))


def _wall(args: list[str], runs: int = 15) -> float:
    """The median wall time of `args` as a process, after one run that writes eniops'
    bytecode (pip writes it when it installs a package; PYTHONDONTWRITEBYTECODE, set on some
    machines, would have every process compile eniops from source)."""
    import subprocess

    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run(args, capture_output=True, check=False, env=env)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(args, capture_output=True, check=False, env=env)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def section_startup() -> None:
    """What a Lambda cold start and a shell script pay before eniops does anything."""
    python = sys.executable
    bare = _wall([python, "-c", "pass"])
    ours = _wall([python, "-c", "import eniops"]) - bare
    theirs = _wall([python, "-c", "import boto3"]) - bare
    helping = _wall([python, "-m", "eniops", "--help"])
    print("\n== startup, median of 15 processes (with bytecode, as installed)")
    print(
        f"  (import eniops {ours * 1000:.1f} ms, import boto3 {theirs * 1000:.1f} ms, beyond "
        f"the interpreter's own {bare * 1000:.0f} ms)"
    )
    line(
        "import eniops / import boto3", f"{ours / theirs:.2f}", "0.35", verdict(ours / theirs, 0.35)
    )
    line("eniops --help: ms", f"{helping * 1000:.0f}", "80", verdict(helping * 1000, 80))


# -- the Lambda handler ---------------------------------------------------------------------


class _Context:
    aws_request_id = "bench"
    function_name = "eniops-failover"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


@contextmanager
def lambda_world() -> Iterator[tuple[World, list[Recorder]]]:
    """A lab whose handler has a lease table and CloudWatch, every client 25 ms per call;
    the active instance is stopped and its status-check alarm is in ALARM."""
    from eniops import aws_lambda

    with world() as w:
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        create_lease_table(dynamodb, "eniops-leases")
        cloudwatch = boto3.client("cloudwatch", region_name="us-east-1")
        put_alarm(cloudwatch, w.lab.active, "instance-status-check", "ALARM")
        with w.strict.internal() as client:
            client.stop_instances(InstanceIds=[w.lab.active])
            client.create_tags(
                Resources=[w.lab.active], Tags=[{"Key": "eniops:standby", "Value": w.lab.standby}]
            )
        recorders = [Recorder(c, latency_s=LATENCY_S) for c in (dynamodb, cloudwatch)]
        for service, client in (
            ("ec2", w.client),
            ("dynamodb", dynamodb),
            ("cloudwatch", cloudwatch),
        ):
            aws_lambda.set_client(client, service)
        os.environ["ENIOPS_LEASE_TABLE"] = "eniops-leases"
        eniops.describe(w.lab.standby, ec2=w.client)  # a warm handler: the type is cached
        w.strict.reset_calls()
        try:
            yield w, recorders
        finally:
            for service in ("ec2", "dynamodb", "cloudwatch"):
                aws_lambda.set_client(None, service)
            for name in ("ENIOPS_LEASE_TABLE", "ENIOPS_STANDBY"):
                os.environ.pop(name, None)


def _to_first_change(w: World, recorders: list[Recorder]) -> int:
    """Round trips, every service's calls, before the handler's first change to EC2."""
    first = before_first_change(w.strict)
    until = w.strict.calls[len(first)].at if len(first) < len(w.strict.calls) else float("inf")
    others = [c for r in recorders for c in r.calls if c.at < until]
    return round_trips([*first, *others])


def section_lambda() -> None:
    """The handler: from an event to its first change, and an event it ignores."""
    from eniops import aws_lambda

    print(f"\n== the Lambda handler, warm ({LATENCY_S * 1000:.0f} ms a call)")
    for name, by_env in (
        ("ec2-state-change-stopped", True),
        ("cloudwatch-alarm-state-change", True),
        ("ec2-state-change-stopped", False),
        ("cloudwatch-alarm-state-change", False),
    ):
        with lambda_world() as (w, recorders):
            if by_env:
                os.environ["ENIOPS_STANDBY"] = f'{{"{w.lab.active}": "{w.lab.standby}"}}'
            event = aws_lambda.sample_event(name, w.lab.active)
            with redirect_stdout(io.StringIO()):  # the handler's log lines
                result = aws_lambda.handler(event, _Context())
            assert result["changed"], result
            trips = _to_first_change(w, recorders)
        kind = "stopped" if name.startswith("ec2") else "alarm"
        standby = "ENIOPS_STANDBY" if by_env else "a tag"
        line(
            f"{kind}, standby in {standby}: round trips to 1st change",
            str(trips),
            "2",
            verdict(trips, 2),
        )
    with lambda_world() as (w, recorders):
        os.environ["ENIOPS_STANDBY"] = f'{{"{w.lab.standby}": "{w.lab.active}"}}'
        with redirect_stdout(io.StringIO()):
            aws_lambda.handler(
                aws_lambda.sample_event("ec2-state-change-stopped", w.lab.far), _Context()
            )
        calls = len(w.strict.calls) + sum(len(r.calls) for r in recorders)
    line(
        "event for an instance without a standby: AWS calls",
        str(calls),
        "0",
        verdict(calls, 0),
    )


# -- IPv6 ----------------------------------------------------------------------------------


def plain_ipv6_move(client: Any, source: str, target: str, ip: str) -> None:
    """The same checks in turn with plain boto3: the target, its instance and type, its
    subnet and the subnet's ENIs; unassign, read until gone; assign, read until shown."""
    eni = client.describe_network_interfaces(NetworkInterfaceIds=[target])["NetworkInterfaces"][0]
    instance = eni["Attachment"]["InstanceId"]
    found = client.describe_instances(InstanceIds=[instance])["Reservations"][0]["Instances"][0]
    client.describe_instance_types(InstanceTypes=[found["InstanceType"]])
    client.describe_subnets(SubnetIds=[eni["SubnetId"]])
    subnet = [{"Name": "subnet-id", "Values": [eni["SubnetId"]]}]
    client.describe_network_interfaces(Filters=subnet)
    client.unassign_ipv6_addresses(NetworkInterfaceId=source, Ipv6Addresses=[ip])
    client.describe_network_interfaces(NetworkInterfaceIds=[source])
    client.assign_ipv6_addresses(NetworkInterfaceId=target, Ipv6Addresses=[ip])
    client.describe_network_interfaces(NetworkInterfaceIds=[target])


def _ipv6_move_once(how: str) -> tuple[int, float]:
    """Round trips and seconds of one IPv6 address moved from the active instance's primary
    ENI to the standby's, by eniops or by plain boto3."""
    with world() as w:
        with w.strict.internal() as client:
            ip = dual_stack(client, w.lab)[w.lab.subnet_a].replace("::/64", "::50")
            source = eniops.describe(w.lab.active, ec2=w.client)["enis"][0]["eni"]
            client.assign_ipv6_addresses(NetworkInterfaceId=source, Ipv6Addresses=[ip])
        target = eniops.describe(w.lab.standby, ec2=w.client)["enis"][0]["eni"]
        w.strict.reset_calls()
        if how == "eniops":
            seconds = timed(
                lambda: eniops.add_secondary_ips(
                    target, ips=[ip], allow_reassignment=True, expect_current=source, ec2=w.client
                )
            )
        else:
            seconds = timed(lambda: plain_ipv6_move(w.client, source, target, ip))
        return round_trips(w.strict.calls), seconds


def section_ipv6() -> None:
    """Moving one IPv6 address between ENIs: eniops' two steps against plain boto3's."""
    print(f"\n== IPv6 ({LATENCY_S * 1000:.0f} ms a call)")
    trips, seconds = _ipv6_move_once("eniops")
    plain_trips, plain_seconds = _ipv6_move_once("plain")
    print(
        f"  (eniops {seconds:.3f} s, with its intent tag and the check of each step; plain "
        f"boto3 {plain_trips} round trips, {plain_seconds:.3f} s)"
    )
    line("one IPv6 address moved between ENIs: round trips", str(trips), "5", verdict(trips, 5))
    bench_dual_stack_failover()


def _dual_stack_lab(w: World) -> tuple[list[str], list[str], str]:
    """The failover lab with a second ENI on the active instance and two IPv6 addresses on
    its primary ENI; the standby's type cached, as a warm Lambda has it."""
    import ipaddress

    with w.strict.internal() as client:
        moving = add_enis(client, w.lab, 1)
        net = ipaddress.IPv6Network(dual_stack(client, w.lab)[w.lab.subnet_a])
        ips = [str(net[0x50]), str(net[0x51])]
        source = eniops.describe(w.lab.active, ec2=w.client)["enis"][0]["eni"]
        client.assign_ipv6_addresses(NetworkInterfaceId=source, Ipv6Addresses=ips)
    eniops.describe(w.lab.standby, ec2=w.client)
    w.strict.reset_calls()
    return [w.lab.floating_eni, *moving], ips, source


def bench_dual_stack_failover() -> None:
    """A failover of 1 Elastic IP, 2 ENIs and 2 IPv6 addresses against its slowest step."""
    with world(BIG) as w:
        _enis, ips, _source = _dual_stack_lab(w)
        whole = timed(
            lambda: eniops.failover_instance(
                w.lab.active, to_instance=w.lab.standby, ips=ips, ec2=w.client
            )
        )
    steps: dict[str, float] = {}
    with world(BIG) as w:
        enis, ips, source = _dual_stack_lab(w)
        active, standby = w.lab.active, w.lab.standby
        steps["remap_eip"] = timed(
            lambda: eniops.remap_eip(
                w.lab.eip, to_instance=standby, expect_current=active, ec2=w.client
            )
        )
        steps["move_eni"] = timed(
            lambda: eniops.move_eni(
                enis[0], to_instance=standby, expect_current=active, ec2=w.client
            )
        )
        steps["IPv6 move"] = timed(
            lambda: eniops.add_secondary_ips(
                standby, ips=ips, allow_reassignment=True, expect_current=source, ec2=w.client
            )
        )
    against_slowest("failover 1 EIP + 2 ENIs + 2 IPv6", whole, steps)


SECTIONS = {
    "single": section_single,
    "startup": section_startup,
    "plans": section_plans,
    "readiness": section_readiness,
    "lambda": section_lambda,
    "ipv6": section_ipv6,
    "routes": section_routes,
    "process": section_process,
    "races": section_races,
    "load": section_load,
    "evacuate": section_evacuate,
}

if __name__ == "__main__":
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    if sys.argv[1:2] == ["--zone-case"]:
        _zone_case(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
        sys.exit(0)
    for name in sys.argv[1:] or list(SECTIONS):
        SECTIONS[name]()
