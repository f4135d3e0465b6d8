"""The chaos suite: a Hypothesis state machine whose rules are the operations (each under
the faults Hypothesis picks for it: throttling, 5xx, NotFound, held transitions, lost and
late answers, refused attaches, a third party moving things, the process killed, forged
tags; and stray or stale eniops tags written before it); its invariants are the whole
account's (nothing stranded, no address lost, nothing moved that was not asked for, every
error telling where things are). A failure shrinks to its shortest story, printed as the
steps that make it.

Seeded and reproducible: ``pytest tests/chaos --chaos-seed N --chaos-size M`` runs at least
M operations (the default size is modest, for the test command; ``--chaos-size 1000`` for
more), in stories of up to `STORY` operations, each on a fresh account.
"""

from __future__ import annotations

import ipaddress
import random
import time
import traceback
from collections import Counter
from collections.abc import Callable

import boto3
import pytest
from chaos import (
    FAULT_KINDS,
    LEASE_TABLE,
    OPERATION_KINDS,
    Account,
    Killed,
    Monkey,
    check,
    choose,
    forge_tags,
    settle,
)
from hypothesis import HealthCheck, seed, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
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
            eni = raw.create_network_interface(
                SubnetId=lab.subnet_a2, PrivateIpAddress=_free_ip(raw, lab.subnet_a2)
            )["NetworkInterface"]
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
        stray = raw.create_network_interface(
            SubnetId=lab.subnet_b, PrivateIpAddress=_free_ip(raw, lab.subnet_b)
        )["NetworkInterface"]
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


def _free_ip(raw, subnet_id: str) -> str:
    """An address of the subnet no ENI holds. moto picks an ENI's address at random and may
    pick one in use, which EC2 never does: with an account built for every story, a build
    would now and then start with one IP on two ENIs."""
    cidr = raw.describe_subnets(SubnetIds=[subnet_id])["Subnets"][0]["CidrBlock"]
    held = {
        p["PrivateIpAddress"]
        for e in raw.describe_network_interfaces()["NetworkInterfaces"]
        for p in e["PrivateIpAddresses"]
    }
    hosts = list(ipaddress.IPv4Network(cidr).hosts())[100:]
    return next(str(ip) for ip in hosts if str(ip) not in held)


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


#: Operations in one story (one account, built fresh).
STORY = 25


class Chaos(RuleBasedStateMachine):
    """One story: an account, and operations on it under faults (see the module)."""

    def __init__(self) -> None:
        super().__init__()
        self._mock = mock_aws()
        self._mock.start()
        self._waits = short_waits()
        self._waits.__enter__()
        self.account = build(boto3.client("ec2", region_name="us-east-1"))
        self.monkey = Monkey(self.account, random.Random(0), FAULTS)
        self.account.client.meta.events.register_first("before-call.ec2", self.monkey.hook)
        self.number = 0
        self.problems: list[str] = []

    def operate(self, kind: str, faults: list[str], choices: int, stray: int) -> None:
        """An operation of `kind` under `faults`, after `stray` eniops tags a third party
        wrote (a stale intent, a forged holder, a floating-ips hint naming what is not the
        instance's: hints it must check, never obey); `choices` picks its arguments and the
        details of its faults."""
        rng = random.Random(choices)
        self.monkey.rng = rng
        self.monkey.forged = [forge_tags(self.account, rng, None) for _ in range(stray)]
        self.problems = one(self.account, self.monkey, rng, self.number, kind, faults)
        self.number += 1

    @invariant()
    def the_account_is_whole(self) -> None:
        """Nothing stranded, no address lost, nothing moved that was not asked for, and an
        error says where everything is (`chaos.check`, after each operation)."""
        VIOLATIONS.extend(self.problems)
        assert not self.problems, "\n".join(self.problems)

    def teardown(self) -> None:
        self._waits.__exit__(None, None, None)
        self._mock.stop()


def _operation_rule(kind: str) -> Callable[..., None]:
    """The rule for one kind of operation (see `Chaos.operate`)."""

    def operation(self: Chaos, faults: list[str], choices: int, stray: int) -> None:
        self.operate(kind, faults, choices, stray)

    operation.__name__ = kind.replace("-", "_")
    return rule(
        faults=st.lists(st.sampled_from(FAULT_KINDS), max_size=3),
        choices=st.integers(0, 2**32 - 1),
        stray=st.integers(0, 3),
    )(operation)


for _kind in dict.fromkeys(OPERATION_KINDS):
    setattr(Chaos, _kind.replace("-", "_"), _operation_rule(_kind))


def test_chaos(chaos_size: int, chaos_seed: int) -> None:
    story = 0
    while STATS["operations"] < chaos_size:
        left = chaos_size - STATS["operations"]
        machine = seed(chaos_seed + story)(Chaos)
        run_state_machine_as_test(
            machine,
            settings=settings(
                max_examples=max(1, -(-left // STORY)),
                stateful_step_count=min(STORY, left),
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            ),
        )
        story += 1
    assert VIOLATIONS == [], "\n".join(VIOLATIONS[:20])


def one(
    account: Account,
    monkey: Monkey,
    rng: random.Random,
    number: int,
    kind: str | None = None,
    faults: list[str] | None = None,
) -> list[str]:
    """One operation under its faults, re-run once if it was killed or said it left an ENI
    detached; what `check` finds wrong with the account after it."""
    before = account.raw()
    operation = choose(account, rng, kind)
    timeout = rng.choice([1.0, 2.0, 5.0])
    if operation.name in ("failover_instance", "shared_standby", "evacuate"):
        timeout = max(timeout, 3.0)
    monkey.calls, monkey.meddled = 0, ""
    monkey.arm(operation, faults)
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
    late = []
    if not killed and elapsed > timeout + ONE_CALL_S:
        late.append(f"{label}: {elapsed:.2f} s against a {timeout} s deadline")
    track(account, operation.name, outcome)
    problems = check(account, before, error, operation, monkey.meddled)
    if killed or any("is detached" in p for p in problems):
        # Killed, or told where an ENI was left: the same operation run again finishes it.
        STATS["re-runs"] += 1
        outcome, error, _ = attempt(operation, 10.0)
        settle(account)
        track(account, operation.name, outcome)
        problems = check(account, before, error, operation, monkey.meddled)
    detail = "".join(traceback.format_exception(error)) if error is not None else ""
    forged = "; ".join(monkey.forged)
    monkey.forged = []
    said = [f"{label} [{monkey.meddled}] [{forged}]: {p}\n{detail[-1500:]}" for p in problems]
    return late + said


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


def test_evacuations_under_every_fault(chaos_seed: int) -> None:
    """Zone a evacuated again and again on one account, each time under one fault of every
    kind in turn (a kill re-run as the operator would): the account stays whole. The
    state machine above may leave the evacuation out of a short run; this never does."""
    with mock_aws(), short_waits():
        account = build(boto3.client("ec2", region_name="us-east-1"))
        monkey = Monkey(account, random.Random(chaos_seed), FAULTS)
        account.client.meta.events.register_first("before-call.ec2", monkey.hook)
        problems: list[str] = []
        for number, fault in enumerate([*FAULT_KINDS, None, None]):
            rng = random.Random(chaos_seed + number)
            monkey.rng = rng
            faults = [fault] if fault is not None else []
            problems += one(account, monkey, rng, number, "evacuate", faults)
    VIOLATIONS.extend(problems)
    assert problems == [], "\n".join(problems)
    assert STATS["op evacuate"] >= len(FAULT_KINDS)
