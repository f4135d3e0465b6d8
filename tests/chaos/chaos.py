"""A seeded run of random operations under random faults, with the whole account checked
after each one. The pieces: `Account` (the simulated account and what it should hold),
`Monkey` (the faults of one operation), `Operations` (what can be asked, chosen at random)
and `check` (the invariants). `tests/chaos/test_chaos.py` drives them.
"""

from __future__ import annotations

import random
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
    "AssociateAddress",
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

    def arm(self) -> None:
        """Pick this operation's faults (most operations get one or two)."""
        rng, strict = self.rng, self.account.strict
        for _ in range(rng.choice([0, 1, 1, 2, 3])):
            kind = rng.choice(
                [
                    "throttle",
                    "5xx",
                    "not-found",
                    "hold",
                    "lost",
                    "late",
                    "attach-refused",
                    "third-party",
                    "kill",
                ]
            )
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
    """Someone else moves something, instantly, in the middle of the operation."""
    raw = account.raw()
    with account.strict.internal() as client:
        choice = rng.choice(["eip", "eni", "route"])
        if choice == "eip":
            allocation = rng.choice(account.eips)
            target = _primary(raw, rng.choice(account.zone_a))
            client.associate_address(
                AllocationId=allocation, NetworkInterfaceId=target, AllowReassociation=True
            )
            return f"third party moved {allocation} to {target}"
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


def choose(account: Account, rng: random.Random) -> Operation:
    """A random operation on the account as it is now (sometimes a wrong one on purpose)."""
    raw = account.raw()
    instances = [*account.zone_a, account.far]
    client = account.client
    kind = rng.choice(
        [
            "remap",
            "remap",
            "move",
            "move",
            "detach",
            "attach",
            "add-ip",
            "reassign-ip",
            "remove-ip",
            "failover",
            "route",
        ]
    )
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
        )
    if kind in ("add-ip", "reassign-ip", "remove-ip"):
        return _ip_operation(account, raw, rng, kind)
    if kind == "failover":
        source, target = rng.sample(account.zone_a, 2)
        if rng.random() < 0.2:
            target = account.far  # across zones: ENIs cannot follow, so nothing may move
        return Operation(
            "failover_instance",
            lambda t: eniops.failover_instance(
                source, to_instance=target, ec2=client, timeout=max(t, 3.0)
            ),
            f"{source} -> {target}",
        )
    target = rng.choice(instances)
    return Operation(
        "move_route",
        lambda t: eniops.move_route(account.overlay, to_instance=target, ec2=client, timeout=t),
        f"{account.overlay} -> {target}",
    )


def _ip_operation(
    account: Account, raw: dict[str, Any], rng: random.Random, kind: str
) -> Operation:
    client = account.client
    primaries = [_primary(raw, i) for i in account.zone_a]
    eni_id = rng.choice(primaries)
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
    return Operation(
        "add_secondary_ips",
        lambda t: eniops.add_secondary_ips(
            eni_id,
            ips=[ip],
            allow_reassignment=True,
            expect_current=holder,
            ec2=client,
            timeout=t,
        ),
        f"{ip} {holder} -> {eni_id}",
    )


# -- invariants ------------------------------------------------------------------------------


def check(
    account: Account,
    before: dict[str, Any],
    error: BaseException | None,
) -> list[str]:
    """Everything that must hold of the whole account after an operation."""
    raw = account.raw()
    problems: list[str] = []
    for allocation, address in before["addresses"].items():
        if address.get("AssociationId") and not raw["addresses"][allocation].get("AssociationId"):
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
    if error is not None and not isinstance(error, (eniops.EniopsError, Killed)):
        problems.append(f"{type(error).__name__} is not an eniops error: {error}")
    if isinstance(error, eniops.EniopsError):
        problems.extend(_details_match(error, account))
    return problems


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
