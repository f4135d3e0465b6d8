"""The chaos suite: random operations under random faults, the whole account checked after
each. Seeded and reproducible: ``pytest tests/chaos --chaos-seed N --chaos-size M`` replays
a run (the default size is modest, for the test command; ``--chaos-size 1000`` for more).
"""

from __future__ import annotations

import ipaddress
import random
import time
import traceback
from collections import Counter

import boto3
import pytest
from chaos import LEASE_TABLE, Account, Killed, Monkey, check, choose, settle
from moto import mock_aws

import eniops
from eniops.testing import (
    StrictEc2,
    add_instances,
    build_lab,
    create_lease_table,
    dual_stack,
    short_waits,
)

#: Past its deadline, an operation may finish the one call in flight (at most the slowest
#: late answer the monkey plays, 0.4 s) and make its final read of where everything is.
ONE_CALL_S = 1.0

STATS: Counter[str] = Counter()
FAULTS: Counter[str] = Counter()
REFUSALS: Counter[str] = Counter()
VIOLATIONS: list[str] = []


def build(client) -> Account:
    lab = build_lab(client)
    strict = StrictEc2(client)
    with strict.internal() as raw:
        more, spare = add_instances(raw, lab, 2)
        zone_a = [lab.active, lab.standby, more, spare]
        enis = [lab.floating_eni]
        for instance in (lab.standby, more):
            eni = raw.create_network_interface(SubnetId=lab.subnet_a2)["NetworkInterface"]
            raw.attach_network_interface(
                NetworkInterfaceId=eni["NetworkInterfaceId"], InstanceId=instance, DeviceIndex=1
            )
            enis.append(eni["NetworkInterfaceId"])
        eips = [lab.eip]
        allocation = raw.allocate_address(Domain="vpc")["AllocationId"]
        raw.associate_address(
            AllocationId=allocation, NetworkInterfaceId=_primary(raw, lab.standby)
        )
        eips.append(allocation)
        eips.append(raw.allocate_address(Domain="vpc")["AllocationId"])  # a spare, free
        stray = raw.create_network_interface(SubnetId=lab.subnet_b)["NetworkInterface"]
        # Dual-stack: a pool of IPv6 addresses of subnet a, two on the active instance's
        # primary ENI, one on the standby's, the rest free.
        v6 = ipaddress.IPv6Network(dual_stack(raw, lab)[lab.subnet_a])
        pool = [str(v6[0x100 + n]) for n in range(6)]
        for instance, ips in ((lab.active, pool[:2]), (lab.standby, pool[2:3])):
            raw.assign_ipv6_addresses(NetworkInterfaceId=_primary(raw, instance), Ipv6Addresses=ips)
    create_lease_table(boto3.client("dynamodb", region_name="us-east-1"), LEASE_TABLE)
    account = Account(client, strict, lab.vpc_id, zone_a, lab.far, enis, eips, lab.overlay)
    account.strays.append(stray["NetworkInterfaceId"])
    account.ipv6 = pool
    return account


def _primary(raw, instance: str) -> str:
    """The primary ENI of `instance`."""
    return next(
        e["NetworkInterfaceId"]
        for e in raw.describe_network_interfaces(
            Filters=[{"Name": "attachment.instance-id", "Values": [instance]}]
        )["NetworkInterfaces"]
        if e["Attachment"]["DeviceIndex"] == 0
    )


def attempt(operation, timeout: float) -> tuple[object, BaseException | None, float]:
    started = time.monotonic()
    try:
        outcome = operation.call(timeout)
    except BaseException as err:  # judged by the invariants
        return None, err, time.monotonic() - started
    return outcome, None, time.monotonic() - started


def test_chaos(chaos_size: int, chaos_seed: int) -> None:
    rng = random.Random(chaos_seed)
    with mock_aws(), short_waits():
        account = build(boto3.client("ec2", region_name="us-east-1"))
        monkey = Monkey(account, rng, FAULTS)
        account.client.meta.events.register_first("before-call.ec2", monkey.hook)
        for number in range(chaos_size):
            one(account, monkey, rng, number)
    assert VIOLATIONS == [], "\n".join(VIOLATIONS[:20])


def one(account: Account, monkey: Monkey, rng: random.Random, number: int) -> None:
    before = account.raw()
    operation = choose(account, rng)
    timeout = rng.choice([1.0, 2.0, 5.0])
    if operation.name in ("failover_instance", "shared_standby"):
        timeout = max(timeout, 3.0)
    monkey.calls, monkey.meddled, monkey.forged = 0, "", []
    monkey.arm(operation)
    outcome, error, elapsed = attempt(operation, timeout)
    killed = isinstance(error, Killed)
    monkey.disarm()
    settle(account)
    label = f"#{number} {operation.name} {operation.detail}"
    STATS["operations"] += 1
    STATS[f"op {operation.name}"] += 1
    STATS["ipv6"] += ":" in operation.detail  # an IPv6 address named
    if killed:
        STATS["kills"] += 1
    elif error is not None:
        STATS[f"error {type(error).__name__}"] += 1
        REFUSALS[f"{operation.name}: {getattr(error, 'reason', '') or type(error).__name__}"] += 1
    else:
        STATS["succeeded"] += 1
    if not killed and elapsed > timeout + ONE_CALL_S:
        VIOLATIONS.append(f"{label}: {elapsed:.2f} s against a {timeout} s deadline")
    track(account, operation.name, outcome)
    problems = check(account, before, error, operation, monkey.meddled)
    if killed or any("is detached" in p for p in problems):
        # Killed, or told where an ENI was left: the same operation run again finishes it.
        STATS["re-runs"] += 1
        outcome, error, _ = attempt(operation, 10.0)
        settle(account)
        track(account, operation.name, outcome)
        problems = check(account, before, error, operation, monkey.meddled)
    for problem in problems:
        detail = "".join(traceback.format_exception(error)) if error is not None else ""
        forged = "; ".join(monkey.forged)
        VIOLATIONS.append(f"{label} [{monkey.meddled}] [{forged}]: {problem}\n{detail[-1500:]}")


def track(account: Account, name: str, result: object) -> None:
    """ENIs detached on purpose are parked; attached again (by any operation), they are not."""
    raw = account.raw()
    account.parked = {e for e in account.parked if account.holder(raw["enis"][e]) is None}
    if not isinstance(result, eniops.Result):
        return
    eni_id = (result.after.get("eni") or {}).get("eni")
    if eni_id is None:
        return
    if name == "detach_eni":
        account.parked.add(eni_id)
    elif name in ("attach_eni", "move_eni"):
        account.parked.discard(eni_id)


@pytest.fixture
def chaos_size(request: pytest.FixtureRequest) -> int:
    return int(request.config.getoption("--chaos-size"))


@pytest.fixture
def chaos_seed(request: pytest.FixtureRequest) -> int:
    return int(request.config.getoption("--chaos-seed"))
