"""A seeded run of random operations under random faults, with the whole account checked
after each one. The pieces: `Account` (the simulated account and what it should hold),
`Monkey` (the faults of one operation), `Operations` (what can be asked, chosen at random)
and `check` (the invariants). `tests/chaos/test_chaos.py` drives them.
"""

from __future__ import annotations

import random
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import eniops
from eniops.testing import StrictEc2

#: Transient and eventual-consistency answers a call may get.
TRANSIENT = ["RequestLimitExceeded", "InternalError", "ServiceUnavailable"]
NOT_FOUND = {
    "DescribeNetworkInterfaces": "InvalidNetworkInterfaceID.NotFound",
    "DescribeInstances": "InvalidInstanceID.NotFound",
    "DescribeAddresses": "InvalidAllocationID.NotFound",
    "DescribeRouteTables": "InvalidRouteTableID.NotFound",
}
DESCRIBES = [*NOT_FOUND, "DescribeInstanceTypes", "DescribeSubnets"]
CHANGES = [
    "AssociateAddress",
    "AttachNetworkInterface",
    "DetachNetworkInterface",
    "AssignPrivateIpAddresses",
    "UnassignPrivateIpAddresses",
    "AssignIpv6Addresses",
    "UnassignIpv6Addresses",
    "ReplaceRoute",
    "CreateTags",
    "DeleteTags",
    "ModifyNetworkInterfaceAttribute",
]
HOLDABLE = [
    "AttachNetworkInterface",
    "DetachNetworkInterface",
    "AssignPrivateIpAddresses",
    "UnassignPrivateIpAddresses",
    "AssignIpv6Addresses",
    "UnassignIpv6Addresses",
    "AssociateAddress",
]


#: What `choose` can ask (remaps and moves twice as often as the rest).
OPERATION_KINDS = [
    "remap",
    "remap",
    "move",
    "move",
    "detach",
    "attach",
    "add-ip",
    "reassign-ip",
    "remove-ip",
    "add-ip6",
    "move-ip6",
    "remove-ip6",
    "failover",
    "failover-tag",
    "shared-standby",
    "route",
    "evacuate",
]
#: The faults `Monkey.arm` can play on one operation.
FAULT_KINDS = [
    "throttle",
    "5xx",
    "not-found",
    "hold",
    "lost",
    "late",
    "attach-refused",
    "third-party",
    "kill",
    "tags",
]

#: The lab's instance type (t3.large) takes three ENIs.
ENIS_PER_INSTANCE = 3


class Killed(BaseException):
    """The process running the operation was killed: every call from now on fails."""


# -- the account ------------------------------------------------------------------------


@dataclass
class Account:
    """The simulated account, and what the run expects of it."""

    client: Any
    strict: StrictEc2
    vpc_id: str
    zone_a: list[str]  # instances in zone a
    far: str  # an instance in zone b
    enis: list[str]  # secondary ENIs the run moves
    eips: list[str]
    overlay: str
    #: ENIs detached on purpose (a successful detach); every other secondary ENI is attached.
    parked: set[str] = field(default_factory=set)
    #: Free ENIs no operation is asked to move (one in zone b): only forged tags point at them.
    strays: list[str] = field(default_factory=list)
    #: The IPv6 addresses (of subnet a) the run adds, moves, removes and fails over.
    ipv6: list[str] = field(default_factory=list)

    def raw(self) -> dict[str, Any]:
        """Every ENI, address and route table, as EC2 itself (moto) holds them."""
        with self.strict.internal() as client:
            enis = client.describe_network_interfaces(
                Filters=[{"Name": "vpc-id", "Values": [self.vpc_id]}]
            )["NetworkInterfaces"]
            addresses = client.describe_addresses()["Addresses"]
            tables = client.describe_route_tables(
                Filters=[{"Name": "vpc-id", "Values": [self.vpc_id]}]
            )["RouteTables"]
        return {
            "enis": {e["NetworkInterfaceId"]: e for e in enis},
            "addresses": {a["AllocationId"]: a for a in addresses},
            "tables": tables,
        }

    def holder(self, eni: dict[str, Any]) -> str | None:
        return (eni.get("Attachment") or {}).get("InstanceId")


# -- the faults of one operation ------------------------------------------------------------


@dataclass
class Monkey:
    """Faults for one operation: queued on the strict layer, or played by a call hook."""

    account: Account
    rng: random.Random
    counts: Counter[str]
    kill_at: int | None = None
    third_party_at: int | None = None
    calls: int = 0
    killed: bool = False
    meddled: str = ""
    #: eniops tags a third party wrote before this operation.
    forged: list[str] = field(default_factory=list)

    def arm(self, planned: Operation, kinds: list[str] | None = None) -> None:
        """Play `kinds` of faults on this operation (None: most operations get one or two,
        picked at random)."""
        rng, strict = self.rng, self.account.strict
        if kinds is None:
            kinds = [rng.choice(FAULT_KINDS) for _ in range(rng.choice([0, 1, 1, 2, 3]))]
        for kind in kinds:
            self.counts[kind] += 1
            if kind == "throttle":
                operation = rng.choice(DESCRIBES + CHANGES)
                strict.inject(operation, "RequestLimitExceeded", times=rng.randint(1, 3))
            elif kind == "5xx":
                operation = rng.choice(DESCRIBES + CHANGES)
                strict.inject(operation, rng.choice(TRANSIENT[1:]), times=rng.randint(1, 2))
            elif kind == "not-found":
                operation = rng.choice(sorted(NOT_FOUND))
                # EC2's eventual consistency: a read by id, just after a change elsewhere
                # (a read by filter answers an empty list instead).
                strict.inject(operation, NOT_FOUND[operation], when=lambda p: "Filters" not in p)
            elif kind == "hold":
                strict.hold(rng.choice(HOLDABLE), polls=rng.randint(1, 3))
            elif kind == "lost":
                strict.inject(rng.choice(CHANGES), "InternalError", after_success=True)
            elif kind == "late":
                strict.late(rng.choice(CHANGES), rng.choice([0.05, 0.2, 0.4]))
            elif kind == "attach-refused":
                strict.inject("AttachNetworkInterface", "InvalidParameterValue")
            elif kind == "third-party":
                self.third_party_at = rng.randint(2, 8)
            elif kind == "tags":
                self.forged.extend(
                    forge_tags(self.account, rng, planned.source) for _ in range(rng.randint(1, 3))
                )
            else:
                self.kill_at = rng.randint(1, 6)

    def hook(self, model: Any, **_: Any) -> None:
        """Runs before every call the operation makes (and none of the checker's)."""
        if self.account.strict._is_internal():
            return
        self.calls += 1
        if self.killed or self.calls == self.kill_at:
            self.killed = True
            raise Killed
        if self.calls == self.third_party_at:
            self.meddled = meddle(self.account, self.rng)

    def disarm(self) -> None:
        self.account.strict.clear_faults()
        self.kill_at = self.third_party_at = None
        self.killed = False


def meddle(account: Account, rng: random.Random) -> str:
    """Someone else moves something, instantly, in the middle of the operation. An address
    goes as EC2 would move it (displacing the one on the same private IP); an ENI and a
    route are moved in one step that cannot be refused halfway."""
    raw = account.raw()
    choice = rng.choice(["eip", "eni", "route", "ipv6"])
    if choice == "ipv6":
        return _meddle_ipv6(account, raw, rng)
    if choice == "eip":
        with account.strict.bystander() as client:
            allocation = rng.choice(account.eips)
            target = _primary(raw, rng.choice(account.zone_a))
            displaced = [
                a
                for a, address in raw["addresses"].items()
                if address.get("NetworkInterfaceId") == target and a != allocation
            ]
            client.associate_address(
                AllocationId=allocation, NetworkInterfaceId=target, AllowReassociation=True
            )
            return f"third party moved {allocation} to {target}, displacing {displaced}"
    with account.strict.internal() as client:
        if choice == "route":
            table = rng.choice(raw["tables"])
            target = _primary(raw, rng.choice(account.zone_a))
            for route in table["Routes"]:
                if route.get("DestinationCidrBlock") == account.overlay:
                    client.replace_route(
                        RouteTableId=table["RouteTableId"],
                        DestinationCidrBlock=account.overlay,
                        NetworkInterfaceId=target,
                    )
                    return f"third party routed {account.overlay} to {target}"
            return "third party found no route"
        eni_id = rng.choice(account.enis)
        att = raw["enis"][eni_id].get("Attachment")
        if att is None or att.get("Status") != "attached":
            return "third party left an unattached ENI alone"
        for instance in rng.sample(account.zone_a, len(account.zone_a)):
            used = {
                (e.get("Attachment") or {}).get("DeviceIndex")
                for e in raw["enis"].values()
                if (e.get("Attachment") or {}).get("InstanceId") == instance
            }
            if instance == att["InstanceId"] or len(used) >= ENIS_PER_INSTANCE:
                continue
            client.detach_network_interface(AttachmentId=att["AttachmentId"])
            client.attach_network_interface(
                NetworkInterfaceId=eni_id,
                InstanceId=instance,
                DeviceIndex=min(set(range(1, ENIS_PER_INSTANCE)) - used),
            )
            return f"third party moved {eni_id} to {instance}"
        return "third party found no room to move an ENI to"


def _meddle_ipv6(account: Account, raw: dict[str, Any], rng: random.Random) -> str:
    """Someone else takes an IPv6 address of the pool for a primary ENI of zone a: from
    nobody, or from the ENI holding it (unassigned and assigned at once)."""
    ip = rng.choice(account.ipv6)
    target = _primary(raw, rng.choice(account.zone_a))
    holder = ipv6_holders(raw).get(ip)
    if holder == target:
        return f"third party found {ip} on {target} already"
    with account.strict.internal() as client:
        if holder is not None:
            client.unassign_ipv6_addresses(NetworkInterfaceId=holder, Ipv6Addresses=[ip])
        client.assign_ipv6_addresses(NetworkInterfaceId=target, Ipv6Addresses=[ip])
    return f"third party took {ip} from {holder} for {target}"


def ipv6_holders(raw: dict[str, Any]) -> dict[str, str]:
    """IPv6 address -> the ENI showing it (the last one, if several do)."""
    return {
        a["Ipv6Address"]: eni_id
        for eni_id, eni in raw["enis"].items()
        for a in eni.get("Ipv6Addresses", [])
    }


#: Device indexes a forged intent records: real ones, the primary's, and ones EC2 refuses.
FORGED_INDEXES = ["1", "2", "0", "5", "32", "1" + "0" * 30]


def forge_tags(account: Account, rng: random.Random, source: str | None) -> str:
    """A third party writes an eniops tag: a holder tag (bare, with a plausible or wrong IP or
    index, or garbled) on any address or ENI, or a move intent (any instances, any index,
    either DeleteOnTermination) on any ENI. It mostly names the instance a failover is about
    to move things from, and mostly lands on free resources, where tags matter."""
    instances = [*account.zone_a, account.far]
    raw = account.raw()
    free = [
        *(e for e in [*account.enis, *account.strays] if account.holder(raw["enis"][e]) is None),
        *(a for a in account.eips if not raw["addresses"][a].get("NetworkInterfaceId")),
    ]
    everything = [*account.enis, *account.strays, *account.eips]
    if rng.random() < 0.3:
        return _forge_ip_move(account, raw, rng)
    resource = rng.choice(free if free and rng.random() < 0.7 else everything)
    named = source if source is not None and rng.random() < 0.7 else rng.choice(instances)
    if resource.startswith("eni-") and rng.random() < 0.5:
        key = "eniops:move"
        value = (
            f"from={named} to={rng.choice(instances)} index={rng.choice(FORGED_INDEXES)} "
            f"dot={rng.choice(['true', 'false'])}"
        )
    else:
        key = "eniops:holder"
        value = rng.choice(
            [
                named,
                f"{named} ip=10.0.1.{rng.randint(4, 20)}",
                f"{named} index={rng.choice(FORGED_INDEXES)}",
                f"{named} ip=nowhere",
            ]
        )
    with account.strict.internal() as client:
        client.create_tags(Resources=[resource], Tags=[{"Key": key, "Value": value}])
    return f"{key}={value!r} on {resource}"


def _forge_ip_move(account: Account, raw: dict[str, Any], rng: random.Random) -> str:
    """A stranger's `eniops:ip-move` intent on an ENI of the account (a primary of zone a, a
    secondary, a stray): `from` its own ENI or any other, naming addresses of the IPv6 pool
    (held or free) or an IPv4 address, which no intent can name."""
    enis = [*(_primary(raw, i) for i in account.zone_a), *account.enis, *account.strays]
    tagged, source = rng.choice(enis), rng.choice(enis)
    named = rng.sample(account.ipv6, rng.randint(1, 2))
    if rng.random() < 0.2:
        named = [f"10.0.1.{rng.randint(4, 250)}"]
    value = f"from={source} ips={','.join(named)}"
    with account.strict.internal() as client:
        client.create_tags(Resources=[tagged], Tags=[{"Key": "eniops:ip-move", "Value": value}])
    return f"eniops:ip-move={value!r} on {tagged}"


def _primary(raw: dict[str, Any], instance_id: str) -> str:
    return next(
        e["NetworkInterfaceId"]
        for e in raw["enis"].values()
        if (e.get("Attachment") or {}).get("InstanceId") == instance_id
        and e["Attachment"].get("DeviceIndex") == 0
    )


# -- operations -----------------------------------------------------------------------------


@dataclass
class Operation:
    """One call to make (and make again after a kill)."""

    name: str
    call: Callable[[float], Any]
    detail: str
    #: The instances the caller named as where things may go.
    targets: frozenset[str] = frozenset()
    #: For a failover: the instance that failed.
    source: str | None = None
    #: The addresses the caller asked to remove (they may go).
    removes: frozenset[str] = frozenset()
    #: The words of the source's `eniops:floating-ips` tag (a hint, never an order).
    hints: frozenset[str] = frozenset()


def choose(account: Account, rng: random.Random, kind: str | None = None) -> Operation:
    """An operation of `kind` (None: one at random) on the account as it is now, its
    arguments picked at random (sometimes wrong ones on purpose)."""
    raw = account.raw()
    instances = [*account.zone_a, account.far]
    client = account.client
    kind = kind or rng.choice(OPERATION_KINDS)
    if kind == "remap":
        allocation = rng.choice(account.eips)
        current = raw["addresses"][allocation].get("NetworkInterfaceId") or eniops.UNASSOCIATED
        target = rng.choice(instances)
        expect = current if rng.random() < 0.8 else rng.choice(instances)
        return Operation(
            "remap_eip",
            lambda t: eniops.remap_eip(
                allocation, to_instance=target, expect_current=expect, ec2=client, timeout=t
            ),
            f"{allocation} -> {target} (expect {expect})",
            frozenset({target}),
        )
    if kind in ("move", "detach", "attach"):
        eni_id = rng.choice(account.enis)
        current = account.holder(raw["enis"][eni_id])
        target = rng.choice(instances)
        if current is None:
            return Operation(
                "attach_eni",
                lambda t: eniops.attach_eni(eni_id, instance=target, ec2=client, timeout=t),
                f"{eni_id} -> {target}",
                frozenset({target}),
            )
        if kind == "detach":
            return Operation(
                "detach_eni",
                lambda t: eniops.detach_eni(eni_id, expect_current=current, ec2=client, timeout=t),
                f"{eni_id} off {current}",
            )
        return Operation(
            "move_eni",
            lambda t: eniops.move_eni(
                eni_id, to_instance=target, expect_current=current, ec2=client, timeout=t
            ),
            f"{eni_id} {current} -> {target}",
            frozenset({target}),
        )
    if kind in ("add-ip", "reassign-ip", "remove-ip"):
        return _ip_operation(account, raw, rng, kind)
    if kind.endswith("ip6"):
        return _ipv6_operation(account, raw, rng, kind)
    if kind == "failover-tag":
        return _failover_by_tag(account, raw, rng)
    if kind == "shared-standby":
        return _shared_standby(account, rng)
    if kind == "evacuate":
        return _evacuation(account, rng)
    if kind == "failover":
        source, target = rng.sample(account.zone_a, 2)
        if rng.random() < 0.2:
            target = account.far  # across zones: ENIs cannot follow, so nothing may move
        on_source = _primary(raw, source)
        ips = [ip for ip, eni in ipv6_holders(raw).items() if eni == on_source]
        ips = ips if rng.random() < 0.5 else []
        return Operation(
            "failover_instance",
            lambda t: eniops.failover_instance(
                source, to_instance=target, ips=ips, ec2=client, timeout=max(t, 3.0)
            ),
            f"{source} -> {target}" + (f" with {', '.join(ips)}" if ips else ""),
            frozenset({target}),
            source,
        )
    target = rng.choice(instances)
    return Operation(
        "move_route",
        lambda t: eniops.move_route(account.overlay, to_instance=target, ec2=client, timeout=t),
        f"{account.overlay} -> {target}",
    )


def _evacuation(account: Account, rng: random.Random) -> Operation:
    """Zone a evacuated, its one pair named: mostly to the instance in zone b (its ENIs
    cannot follow, so a pair carrying one is refused), sometimes to a standby in zone a
    (refused: standby-in-zone). The pair's error, inside the evacuation, is raised to be
    judged as a failover's."""
    source = rng.choice(account.zone_a)
    target = (
        account.far
        if rng.random() < 0.8
        else rng.choice([i for i in account.zone_a if i != source])
    )
    client = account.client

    def call(timeout: float) -> Any:
        evacuation = eniops.evacuate(
            "us-east-1a", pairs={source: target}, ec2=client, timeout=max(timeout, 3.0)
        )
        if [(a, s) for a, s, _ in evacuation.pairs] != [(source, target)]:
            raise AssertionError(f"the evacuation's pairs: {evacuation.pairs}")
        outcome = evacuation.pairs[0][2]
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    return Operation(
        "evacuate", call, f"us-east-1a: {source} -> {target}", frozenset({target}), source
    )


def _failover_by_tag(account: Account, raw: dict[str, Any], rng: random.Random) -> Operation:
    """A failover as the Lambda runs it, with the floating IPs the source's
    `eniops:floating-ips` tag names: its own secondary IPv6 addresses, and words that are
    not its (garbage, its primary IP, another ENI's address, one outside the subnet, a free
    one), each of which must be left out, never refuse the failover."""
    source, target = rng.sample(account.zone_a, 2)
    here = _primary(raw, source)
    holders = ipv6_holders(raw)
    own = [ip for ip, eni in holders.items() if eni == here]
    others = [ip for ip, eni in holders.items() if eni != here]
    bad = [
        "not-an-address",
        raw["enis"][here]["PrivateIpAddress"],
        "10.0.9.77",
        *others[:1],
        *(ip for ip in account.ipv6 if ip not in holders),
    ]
    hints = [*own, *rng.sample(bad, rng.randint(1, 3))]
    rng.shuffle(hints)
    with account.strict.internal() as client:
        tag = {"Key": "eniops:floating-ips", "Value": " ".join(hints)}
        client.create_tags(Resources=[source], Tags=[tag])
    return Operation(
        "failover_instance",
        lambda t: lambda_failover(source, target, account.client, max(t, 3.0)),
        f"{source} -> {target} with the tag's {' '.join(hints)}",
        frozenset({target}),
        source,
        hints=frozenset(hints),
    )


def lambda_failover(source: str, target: str, client: Any, timeout: float) -> Any:
    """`failover_instance` as the Lambda's handler makes it (its floating IPs from the
    source's tag too)."""
    from eniops._ops._operation import Common, run
    from eniops._ops.failover import FAILOVER, FailoverRequest

    common = Common.of(FAILOVER.name, {"ec2": client, "timeout": timeout}, timeout_s=timeout)
    request = FailoverRequest.of(
        from_instance=source, to_instance=target, guard=None, ips_from_tag=True
    )
    return run(FAILOVER, request, common)


def _shared_standby(account: Account, rng: random.Random) -> Operation:
    """Two actives fail over into one standby at once through the Lambda (a Spot warning for
    each, their standby in ENIOPS_STANDBY, the lease table set): the leases run them one
    after the other, so the second never silently displaces the first one's address."""
    first, second, target = rng.sample(account.zone_a, 3)
    return Operation(
        "shared_standby",
        lambda t: two_lambda_failovers(account, (first, second), target, t),
        f"{first} and {second} -> {target} at once (Lambda, lease)",
        frozenset({target}),
    )


#: The Lambda's lease table in the chaos account.
LEASE_TABLE = "eniops-chaos-leases"


class _Context:
    aws_request_id = "chaos"
    function_name = "eniops-chaos"

    def __init__(self, remaining_s: float) -> None:
        self.remaining_s = remaining_s

    def get_remaining_time_in_millis(self) -> int:
        return int(self.remaining_s * 1000)


def two_lambda_failovers(
    account: Account, sources: tuple[str, str], target: str, timeout: float
) -> list[dict[str, Any]]:
    """Both invocations at once; their answers, or the first error one of them raised."""
    import json
    import os
    import threading

    from eniops import aws_lambda

    os.environ["ENIOPS_STANDBY"] = json.dumps(dict.fromkeys(sources, target))
    os.environ["ENIOPS_LEASE_TABLE"] = LEASE_TABLE
    aws_lambda.set_client(account.client)
    answers: list[Any] = [None, None]
    start = threading.Barrier(2)

    def invoke(i: int) -> None:
        start.wait()
        try:
            event = aws_lambda.sample_event("ec2-spot-interruption-warning", sources[i])
            answers[i] = aws_lambda.handler(event, _Context(timeout + aws_lambda.SAFETY_MARGIN_S))
        except BaseException as err:  # handed to the caller
            answers[i] = err

    threads = [threading.Thread(target=invoke, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for name in ("ENIOPS_STANDBY", "ENIOPS_LEASE_TABLE"):
        os.environ.pop(name, None)
    for service in ("ec2", "dynamodb"):  # built again by the next user of the handler
        aws_lambda.set_client(None, service)
    failed = [a for a in answers if isinstance(a, BaseException)]
    if failed:
        raise next((f for f in failed if isinstance(f, Killed)), failed[0])
    return answers


def _ip_operation(
    account: Account, raw: dict[str, Any], rng: random.Random, kind: str
) -> Operation:
    client = account.client
    primaries = [_primary(raw, i) for i in account.zone_a]
    eni_id = rng.choice(primaries)
    here = frozenset({account.holder(raw["enis"][eni_id]) or ""})
    secondaries = [
        p["PrivateIpAddress"]
        for other in primaries
        for p in raw["enis"][other]["PrivateIpAddresses"]
        if not p.get("Primary")
    ]
    if kind == "add-ip" or not secondaries:
        return Operation(
            "add_secondary_ips",
            lambda t: eniops.add_secondary_ips(eni_id, count=1, ec2=client, timeout=t),
            f"one more IP on {eni_id}",
            here,
        )
    ip = rng.choice(secondaries)
    holder = next(
        o
        for o in primaries
        if ip in [p["PrivateIpAddress"] for p in raw["enis"][o]["PrivateIpAddresses"]]
    )
    if kind == "remove-ip":
        return Operation(
            "remove_secondary_ips",
            lambda t: eniops.remove_secondary_ips(holder, ips=[ip], ec2=client, timeout=t),
            f"{ip} off {holder}",
        )
    return _reassign(client, eni_id, ip, holder, f"{ip} {holder} -> {eni_id}", here)


def _reassign(
    client: Any, eni_id: str, ip: str, expect: str, detail: str, here: frozenset[str]
) -> Operation:
    """`ip` taken for `eni_id` from the ENI `expect` names."""
    return Operation(
        "add_secondary_ips",
        lambda t: eniops.add_secondary_ips(
            eni_id,
            ips=[ip],
            allow_reassignment=True,
            expect_current=expect,
            ec2=client,
            timeout=t,
        ),
        detail,
        here,
    )


def _ipv6_operation(
    account: Account, raw: dict[str, Any], rng: random.Random, kind: str
) -> Operation:
    """An IPv6 address of the pool added (from nobody, or one someone holds: refused),
    moved between primary ENIs in two steps (guarded by its holder, sometimes a wrong one),
    or removed."""
    client = account.client
    primaries = [_primary(raw, i) for i in account.zone_a]
    eni_id = rng.choice(primaries)
    here = frozenset({account.holder(raw["enis"][eni_id]) or ""})
    holders = ipv6_holders(raw)
    held = [ip for ip in account.ipv6 if ip in holders]
    if kind == "add-ip6" or not held:
        free = [ip for ip in account.ipv6 if ip not in holders]
        ip = rng.choice(free if free and rng.random() < 0.8 else account.ipv6)
        return Operation(
            "add_secondary_ips",
            lambda t: eniops.add_secondary_ips(eni_id, ips=[ip], ec2=client, timeout=t),
            f"{ip} to {eni_id}",
            here,
        )
    ip = rng.choice(held)
    holder = holders[ip]
    if kind == "remove-ip6":
        return Operation(
            "remove_secondary_ips",
            lambda t: eniops.remove_secondary_ips(holder, ips=[ip], ec2=client, timeout=t),
            f"{ip} off {holder}",
            removes=frozenset({ip}),
        )
    expect = holder if rng.random() < 0.8 else rng.choice(primaries)
    detail = f"{ip} {holder} -> {eni_id} (expect {expect})"
    return _reassign(client, eni_id, ip, expect, detail, here)


# -- invariants ------------------------------------------------------------------------------


def check(
    account: Account,
    before: dict[str, Any],
    error: BaseException | None,
    operation: Operation | None = None,
    meddled: str = "",
) -> list[str]:
    """Everything that must hold of the whole account after an operation."""
    raw = account.raw()
    problems: list[str] = []
    if operation is not None:
        problems.extend(_only_where_named(account, before, raw, operation, meddled))
        if operation.source is not None:
            problems.extend(_nothing_carried_left(account, before, raw, operation, meddled, error))
    for allocation, address in before["addresses"].items():
        if (
            address.get("AssociationId")
            and not raw["addresses"][allocation].get("AssociationId")
            and allocation not in meddled  # a third party displaced it
        ):
            problems.append(f"{allocation} was associated and is not any more")
    for eni_id in account.enis:
        if account.holder(raw["enis"][eni_id]) is None and eni_id not in account.parked:
            problems.append(f"{eni_id} is detached")
    seen: dict[str, str] = {}
    for eni_id, eni in raw["enis"].items():
        for private in eni["PrivateIpAddresses"]:
            ip = private["PrivateIpAddress"]
            if ip in seen:
                problems.append(f"{ip} is on {seen[ip]} and {eni_id}")
            seen[ip] = eni_id
    problems.extend(_ipv6_kept(before, raw, operation, error))
    problems.extend(_never_refused_for_a_hint(before, operation, error, meddled))
    if error is not None and not isinstance(error, (eniops.EniopsError, Killed)):
        problems.append(f"{type(error).__name__} is not an eniops error: {error}")
    if isinstance(error, eniops.EniopsError):
        problems.extend(_details_match(error, account))
    return problems


def _never_refused_for_a_hint(
    before: dict[str, Any],
    operation: Operation | None,
    error: BaseException | None,
    meddled: str,
) -> list[str]:
    """Hints never refuse: no refusal before any change names a word of the source's
    `eniops:floating-ips` tag, and no `ip-in-use` names an address no ENI held (only a
    stranger's `eniops:ip-move` intent could tie it to anyone)."""
    if not isinstance(error, eniops.PreconditionFailed) or "resources" in error.details:
        return []
    ip = str(error.details.get("ip", ""))
    problems = []
    if operation is not None and ip in operation.hints:
        problems.append(f"refused ({error.reason}) for {ip}, which only the tag named")
    held = {p["PrivateIpAddress"] for e in before["enis"].values() for p in e["PrivateIpAddresses"]}
    held |= set(ipv6_holders(before))
    if error.reason == "ip-in-use" and ip and ip not in held and ip not in meddled:
        problems.append(f"refused ip-in-use for {ip}, which no ENI held: a stranger's intent")
    return problems


def _ipv6_kept(
    before: dict[str, Any],
    raw: dict[str, Any],
    operation: Operation | None,
    error: BaseException | None,
) -> list[str]:
    """No IPv6 address on two ENIs; none lost unless told: an address some ENI held before
    is on an ENI after, or the caller asked to remove it, or (the operation failed and said
    so) an `eniops:ip-move` intent names it, so that a re-run finds it."""
    problems = []
    shown: dict[str, list[str]] = {}
    intents: set[tuple[str, str]] = set()  # (address, the ENI it is on its way from)
    for eni_id, eni in raw["enis"].items():
        for a in eni.get("Ipv6Addresses", []):
            shown.setdefault(a["Ipv6Address"], []).append(eni_id)
        tags = {t["Key"]: t["Value"] for t in eni.get("TagSet") or []}
        match = re.search(r"from=(\S+) ips=(\S+)", tags.get("eniops:ip-move", ""))
        intents |= {(ip, match.group(1)) for ip in match.group(2).split(",")} if match else set()
    problems.extend(
        f"{ip} is on {' and '.join(enis)}" for ip, enis in shown.items() if len(enis) > 1
    )
    told = operation.removes if operation is not None else frozenset()
    for ip, holder in ipv6_holders(before).items():
        if ip in shown or ip in told:
            continue
        if error is not None and not isinstance(error, Killed) and (ip, holder) in intents:
            continue  # on its way from where it was, and the error says where it is
        problems.append(f"{ip} was on an ENI and is on none")
    return problems


def _places(account: Account, raw: dict[str, Any]) -> dict[str, str | None]:
    """The instance each moved ENI and address is on (None: on nothing)."""
    places: dict[str, str | None] = {
        e: account.holder(raw["enis"][e]) for e in [*account.enis, *account.strays]
    }
    for allocation in account.eips:
        eni_id = raw["addresses"][allocation].get("NetworkInterfaceId")
        eni = raw["enis"].get(eni_id) if eni_id else None
        places[allocation] = account.holder(eni) if eni else None
    return places


def _only_where_named(
    account: Account,
    before: dict[str, Any],
    raw: dict[str, Any],
    operation: Operation,
    meddled: str,
) -> list[str]:
    """Nothing moves to an instance the caller did not name (a third party's moves aside)."""
    was, now = _places(account, before), _places(account, raw)
    return [
        f"{resource} moved to {now[resource]}, which the caller did not name"
        for resource in was
        if now[resource] not in (None, was[resource])
        and now[resource] not in operation.targets
        and resource not in meddled
    ]


def _nothing_carried_left(
    account: Account,
    before: dict[str, Any],
    raw: dict[str, Any],
    operation: Operation,
    meddled: str,
    error: BaseException | None,
) -> list[str]:
    """A failover that succeeded leaves nothing the source carried on the source; one that
    was refused was never refused for a resource the source did not carry (a tag's)."""
    source = operation.source
    was, now = _places(account, before), _places(account, raw)
    carried = {r for r, place in was.items() if place == source and r not in meddled}
    if error is None:
        return [f"{r} was on the failed {source} and still is" for r in carried if now[r] == source]
    if isinstance(error, eniops.PreconditionFailed) and "resources" not in error.details:
        # A refusal before any change never comes from a resource that only a tag ties to
        # the source (the target's own resources may well refuse it).
        named = set(re.findall(r"(?:eni|eipalloc)-[0-9a-f]+", repr(error.details)))
        on_target = {r for r, place in was.items() if place in operation.targets}
        by_tag = _tied_by_tag(account, raw, str(source)) - carried - on_target
        return [
            f"the failover of {source} was refused ({error.reason}) for {r}, which it did not carry"
            for r in sorted(named & by_tag)
            if error.reason not in ("expect-mismatch", "not-found")
        ]
    return []


def _tied_by_tag(account: Account, raw: dict[str, Any], source: str) -> set[str]:
    """The ENIs and addresses whose eniops tags name `source`."""
    tied: set[str] = set()
    for resource in [*account.enis, *account.strays, *account.eips]:
        entry = raw["enis" if resource.startswith("eni-") else "addresses"][resource]
        tags = {t["Key"]: t["Value"] for t in entry.get("TagSet") or entry.get("Tags") or []}
        if tags.get("eniops:holder", "").startswith(source) or tags.get(
            "eniops:move", ""
        ).startswith(f"from={source}"):
            tied.add(resource)
    return tied


def _details_match(error: eniops.EniopsError, account: Account) -> list[str]:
    """What the error says of each resource is what EC2 shows (transitions aside)."""
    reported = error.details.get("resources") or {}
    if not reported:
        return []
    shown = _shown(account)
    problems = []
    for resource, state in reported.items():
        if not isinstance(state, dict) or "error" in state or resource not in shown:
            continue
        now = shown[resource]
        if resource.startswith("eni-"):
            moving = {state.get("attachment_status"), now.get("attachment_status")}
            if moving & {"attaching", "detaching"}:
                continue
            if state.get("instance") != now.get("instance"):
                problems.append(
                    f"{type(error).__name__} says {resource} is on {state.get('instance')}, "
                    f"EC2 shows {now.get('instance')}"
                )
        elif resource.startswith("eipalloc-") and state.get("eni") != now.get("eni"):
            problems.append(
                f"{type(error).__name__} says {resource} is on {state.get('eni')}, "
                f"EC2 shows {now.get('eni')}"
            )
    return problems


def _shown(account: Account) -> dict[str, dict[str, Any]]:
    """What EC2 (the strict layer, transitions included) shows now, as eniops summarises it."""
    client = account.client
    enis = client.describe_network_interfaces(NetworkInterfaceIds=account.enis)["NetworkInterfaces"]
    addresses = client.describe_addresses(AllocationIds=account.eips)["Addresses"]
    shown: dict[str, dict[str, Any]] = {}
    for eni in enis:
        att = eni.get("Attachment") or {}
        shown[eni["NetworkInterfaceId"]] = {
            "instance": att.get("InstanceId"),
            "attachment_status": att.get("Status"),
        }
    for address in addresses:
        shown[address["AllocationId"]] = {"eni": address.get("NetworkInterfaceId")}
    return shown


def settle(account: Account) -> None:
    """Wait out transitions still running, so the next operation starts from a known state."""
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:
        enis = account.client.describe_network_interfaces(NetworkInterfaceIds=account.enis)[
            "NetworkInterfaces"
        ]
        statuses = {(e.get("Attachment") or {}).get("Status") for e in enis}
        if not statuses & {"attaching", "detaching"}:
            return
        time.sleep(0.02)
