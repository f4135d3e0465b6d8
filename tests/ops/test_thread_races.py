"""Races: several callers failing the same resource over at once, each with expect_current.

EC2 has compare-and-swap for detaching (by attachment id) and for associating an address
that must be free (`AllowReassociation=False`), but not for taking an address or an IP from
its holder. For those, eniops reads as late as it can before the write and confirms by a
read `confirm_after_s` after the answer: a competing write that lands within that time is
seen, and only one caller reports success. These tests hold each outcome to that: exactly
one winner, the others a `Conflict` (or a clean no-op), nothing moved twice.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

import pytest
from support import World

import eniops
from eniops import Conflict
from eniops._core._settings import use_settings
from eniops.testing import add_enis, add_instances, fast_policy

#: A confirmation delay well above what the strict layer's latency makes the read-to-write
#: window of a contender (20 ms per call).
POLICY = replace(fast_policy(), confirm_after_s=0.25)


def contend(calls: list[Callable[[], eniops.Result]]) -> list[object]:
    """Run every call at once (released together) and return each one's result or error."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[object] = [None] * len(calls)

    def one(i: int) -> None:
        with use_settings(policy=POLICY):
            barrier.wait()
            try:
                outcomes[i] = calls[i]()
            except eniops.EniopsError as err:
                outcomes[i] = err

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return outcomes


def winners(outcomes: list[object]) -> list[int]:
    """Indexes of the callers that changed something; every other must be a Conflict."""
    won = [i for i, o in enumerate(outcomes) if isinstance(o, eniops.Result) and o.changed]
    for i, outcome in enumerate(outcomes):
        if i in won:
            continue
        assert isinstance(outcome, (Conflict, eniops.Result)), outcome
        if isinstance(outcome, Conflict):
            assert outcome.reason == "expect-mismatch", outcome.to_dict()
    return won


def standby_enis(world: World, count: int) -> list[str]:
    """The standby's primary ENI and `count - 1` more ENIs of subnet a attached to it, their
    primary IPs named (moto would pick one at random, maybe the very IP a test contends for)."""
    found = [world.primary_eni(world.lab.standby)]
    with world.strict.internal() as client:
        for index in range(1, count):
            eni = client.create_network_interface(
                SubnetId=world.lab.subnet_a, PrivateIpAddress=f"10.0.1.{240 + index}"
            )
            eni_id = eni["NetworkInterface"]["NetworkInterfaceId"]
            client.attach_network_interface(
                NetworkInterfaceId=eni_id, InstanceId=world.lab.standby, DeviceIndex=index
            )
            found.append(eni_id)
    return found


# -- Elastic IP ---------------------------------------------------------------------------


def test_many_threads_take_one_address_from_its_holder_one_wins(world: World) -> None:
    world.strict.latency_s = 0.02
    targets = standby_enis(world, 4)
    outcomes = contend(
        [
            lambda t=t: eniops.remap_eip(
                world.lab.eip, to_eni=t, expect_current=world.lab.active, ec2=world.client
            )
            for t in targets
        ]
    )
    won = winners(outcomes)
    assert len(won) == 1, [o if isinstance(o, Exception) else "ok" for o in outcomes]
    assert world.address()["NetworkInterfaceId"] == targets[won[0]]
    # Nobody put anything back or tried again: at most one association per caller.
    assert world.strict.count("AssociateAddress") <= len(targets)
    assert world.strict.count("DisassociateAddress") == 0


def test_a_competing_write_landing_within_the_confirmation_is_seen(world: World) -> None:
    """B read before A's write and its write lands 0.1 s after A's: A's confirmation read
    sees B's address, so A reports a Conflict and B alone the move."""
    world.strict.latency_s = 0.01
    first, second = standby_enis(world, 2)
    # Warm: the first call of a process imports what it needs, which holds one thread back.
    eniops.describe(world.lab.eip, ec2=world.client)
    # A's write reaches EC2 0.05 s after it is sent (B's read is answered by then), B's 0.1 s
    # after A's.
    for eni, seconds in ((first, 0.05), (second, 0.15)):
        world.strict.slow(
            "AssociateAddress", seconds, when=lambda p, e=eni: p.get("NetworkInterfaceId") == e
        )
    a, b = contend(
        [
            lambda t=t: eniops.remap_eip(
                world.lab.eip, to_eni=t, expect_current=world.lab.active, ec2=world.client
            )
            for t in (first, second)
        ]
    )
    assert isinstance(a, Conflict), a
    assert a.details["current"]["eni"] == second
    assert isinstance(b, eniops.Result)
    assert b.changed
    assert world.address()["NetworkInterfaceId"] == second
    # Both reads were answered before either write took effect: a real race, not a refusal.
    reads = [c for c in world.strict.calls if c.operation == "DescribeAddresses"][:2]
    writes = [c for c in world.strict.calls if c.operation == "AssociateAddress"]
    assert len(writes) == 2
    assert max(r.ended for r in reads) < min(w.at + 0.05 for w in writes)


def test_the_confirmation_is_the_only_read_after_the_write(world: World) -> None:
    """The read closest to the write is the operation's one read: nothing between, and one
    describe after the answer, made no earlier than `confirm_after_s`."""
    world.strict.latency_s = 0.01
    with use_settings(policy=POLICY):
        result = eniops.remap_eip(
            world.lab.eip,
            to_instance=world.lab.standby,
            expect_current=world.lab.active,
            ec2=world.client,
        )
    calls = world.strict.calls
    ops = [c.operation for c in calls]
    write = ops.index("AssociateAddress")
    assert sorted(ops[:write]) == ["DescribeAddresses", "DescribeInstances"]
    (confirm,) = [c for c in calls[write + 1 :] if c.operation.startswith("Describe")]
    assert confirm.operation == "DescribeAddresses"
    assert confirm.at - calls[write].ended >= POLICY.confirm_after_s
    read_at = datetime.fromisoformat(result.before["read_at"])
    assert read_at.tzinfo is not None


def test_without_expect_current_there_is_no_confirmation_wait(world: World) -> None:
    world.strict.latency_s = 0.01
    with use_settings(policy=replace(POLICY, confirm_after_s=5.0)):
        result = eniops.remap_eip(world.lab.eip, to_instance=world.lab.standby, ec2=world.client)
    assert result.changed
    assert result.elapsed_s < 5.0


# -- ENI ----------------------------------------------------------------------------------


def test_many_threads_move_one_eni_one_wins(world: World) -> None:
    world.strict.latency_s = 0.02
    targets = [world.lab.standby, *add_instances(world.client, world.lab, 2)]
    outcomes = contend(
        [
            lambda t=t: eniops.move_eni(
                world.lab.floating_eni,
                to_instance=t,
                expect_current=world.lab.active,
                ec2=world.client,
            )
            for t in targets
        ]
    )
    won = winners(outcomes)
    assert len(won) == 1, [o if isinstance(o, Exception) else "ok" for o in outcomes]
    attachment = world.eni(world.lab.floating_eni)["Attachment"]
    assert attachment["InstanceId"] == targets[won[0]]
    assert attachment["Status"] == "attached"
    # One attach reached EC2 per contender at most, and no losing attach stuck anywhere.
    assert world.strict.count("AttachNetworkInterface") <= len(targets)


# -- secondary IP -------------------------------------------------------------------------


def test_many_threads_take_one_secondary_ip_one_wins(world: World) -> None:
    world.strict.latency_s = 0.02
    active_eni = world.primary_eni(world.lab.active)
    ip = "10.0.1.200"
    with world.strict.internal() as client:
        client.assign_private_ip_addresses(NetworkInterfaceId=active_eni, PrivateIpAddresses=[ip])
    targets = standby_enis(world, 3)
    world.strict.reset_calls()
    outcomes = contend(
        [
            lambda t=t: eniops.add_secondary_ips(
                t,
                ips=[ip],
                allow_reassignment=True,
                expect_current=active_eni,
                ec2=world.client,
            )
            for t in targets
        ]
    )
    won = winners(outcomes)
    assert len(won) == 1, [o if isinstance(o, Exception) else "ok" for o in outcomes]
    holders = [t for t in [active_eni, *targets] if ip in _ips(world, t)]
    assert holders == [targets[won[0]]]


def test_a_reassignment_taken_over_is_a_conflict_not_a_timeout(world: World) -> None:
    """B's reassignment lands 0.1 s after A's: A's confirmation finds the IP on B's ENI and
    says so at once instead of waiting for its own ENI to show it until the deadline."""
    world.strict.latency_s = 0.01
    active_eni = world.primary_eni(world.lab.active)
    ip = "10.0.1.201"
    with world.strict.internal() as client:
        client.assign_private_ip_addresses(NetworkInterfaceId=active_eni, PrivateIpAddresses=[ip])
    first, second = standby_enis(world, 2)
    world.strict.slow(
        "AssignPrivateIpAddresses", 0.1, when=lambda p: p.get("NetworkInterfaceId") == second
    )
    a, b = contend(
        [
            lambda t=t: eniops.add_secondary_ips(
                t,
                ips=[ip],
                allow_reassignment=True,
                expect_current=active_eni,
                ec2=world.client,
                timeout=20,
            )
            for t in (first, second)
        ]
    )
    assert isinstance(a, Conflict), a
    assert a.details["ip"] == ip
    assert isinstance(b, eniops.Result)
    assert b.changed
    assert ip in _ips(world, second)
    assert ip not in _ips(world, first)


def _ips(world: World, eni_id: str) -> list[str]:
    return [p["PrivateIpAddress"] for p in world.eni(eni_id)["PrivateIpAddresses"]]


@pytest.mark.parametrize("confirm_after_s", [0.0])
def test_a_write_later_than_the_confirmation_is_the_window_that_remains(
    world: World, confirm_after_s: float
) -> None:
    """What no read can close: B's write lands after A's confirmation read. Both report the
    move; the address ends where the later write put it. This is the documented window."""
    world.strict.latency_s = 0.01
    first, second = standby_enis(world, 2)
    world.strict.slow("AssociateAddress", 0.3, when=lambda p: p.get("NetworkInterfaceId") == second)
    barrier = threading.Barrier(2)
    outcomes: list[object] = [None, None]

    def one(i: int, target: str) -> None:
        with use_settings(policy=replace(POLICY, confirm_after_s=confirm_after_s)):
            barrier.wait()
            outcomes[i] = eniops.remap_eip(
                world.lab.eip, to_eni=target, expect_current=world.lab.active, ec2=world.client
            )

    threads = [threading.Thread(target=one, args=(i, t)) for i, t in enumerate((first, second))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert all(isinstance(o, eniops.Result) and o.changed for o in outcomes)
    assert world.address()["NetworkInterfaceId"] == second


def test_a_later_confirmation_does_not_hold_up_other_waits(world: World) -> None:
    """The poller reads each wait when it is due: an Elastic IP's confirmation, due late,
    does not keep a failover's ENI from being polled right after its detach."""
    with use_settings(policy=replace(fast_policy(), confirm_after_s=0.5)):
        eniops.failover_instance(world.lab.active, to_instance=world.lab.standby, ec2=world.client)
    calls = world.strict.calls
    detached = next(c for c in calls if c.operation == "DetachNetworkInterface")
    first_poll = next(
        c for c in calls if c.operation == "DescribeNetworkInterfaces" and c.at > detached.ended
    )
    associated = next(c for c in calls if c.operation == "AssociateAddress")
    assert first_poll.at < associated.ended + 0.5  # before the confirmation is due


def test_a_wait_not_yet_due_is_not_read(world: World) -> None:
    """The ENI polls of a failover do not read the Elastic IP, whose confirmation is due
    later: the address is read twice, before the change and once to confirm it."""
    world.strict.hold("DetachNetworkInterface", seconds=0.6)
    with use_settings(policy=replace(fast_policy(), confirm_after_s=0.3)):
        eniops.failover_instance(world.lab.active, to_instance=world.lab.standby, ec2=world.client)
    operations = [c.operation for c in world.strict.calls]
    assert operations.count("DescribeNetworkInterfaces") > 5
    assert operations.count("DescribeAddresses") == 2


# -- a shared standby (N+1) ---------------------------------------------------------------


def second_active(world: World) -> tuple[str, str]:
    """Another active instance in subnet a with an Elastic IP of its own on its primary IP."""
    (other,) = add_instances(world.client, world.lab, 1)
    eni = world.primary_eni(other)
    with world.strict.internal() as client:
        made = client.allocate_address(Domain="vpc")
        client.associate_address(AllocationId=made["AllocationId"], NetworkInterfaceId=eni)
    return other, made["AllocationId"]


def test_two_failovers_into_one_standby_never_both_report_success(world: World) -> None:
    """Two actives fail over into one standby at once, each with an Elastic IP on its primary
    IP. EC2 silently disassociates the first address when the second lands on the same
    private IP: the first failover's confirmation sees its address on nothing and raises a
    Conflict at once (not after its deadline), saying where its address is; the second one
    reports the move. Exactly one address is on the standby, and the loser is told."""
    world.strict.latency_s = 0.01
    other, other_eip = second_active(world)
    standby = world.primary_eni(world.lab.standby)
    eniops.describe(world.lab.eip, ec2=world.client)  # warm: imports, the type's limits
    for eip, seconds in ((world.lab.eip, 0.05), (other_eip, 0.15)):
        world.strict.slow("AssociateAddress", seconds, when=lambda p, e=eip: p["AllocationId"] == e)
    started = time.monotonic()
    first, second = contend(
        [
            lambda s=s: eniops.failover_instance(
                s, to_instance=world.lab.standby, ec2=world.client, timeout=60
            )
            for s in (world.lab.active, other)
        ]
    )
    assert time.monotonic() - started < 10  # at once, not after the 60 s deadline
    assert isinstance(first, eniops.EniopsError), first
    assert isinstance(second, eniops.Result)
    assert second.changed
    address = world.client.describe_addresses(AllocationIds=[world.lab.eip])["Addresses"][0]
    assert "AssociationId" not in address  # displaced by EC2, and the first failover says so
    shown = world.client.describe_addresses(AllocationIds=[other_eip])["Addresses"][0]
    assert shown["NetworkInterfaceId"] == standby
    assert first.details["resources"][world.lab.eip]["eni"] is None
    cause = first.details.get("cause", first.to_dict())
    assert (cause["type"], cause["reason"]) == ("Conflict", "expect-mismatch")
    assert "on nothing" in cause["message"]


def test_two_failovers_into_one_standby_both_take_a_device_index(world: World) -> None:
    """Two actives, each with a secondary ENI, fail over into one standby at once (no lease):
    both read device index 1 free and both attach there. EC2 takes one attach and refuses the
    other for its index; that one reads the standby again and attaches once more at the next
    free index, within its deadline. Both failovers succeed; every ENI ends attached."""
    world.strict.latency_s = 0.01
    (other,) = add_instances(world.client, world.lab, 1)
    with world.strict.internal() as client:
        (other_eni,) = add_enis(client, world.lab, 1, instance_id=other)
    eniops.describe(world.lab.standby, ec2=world.client)  # warm: imports, the type's limits
    mine = {world.lab.floating_eni: 0.05, other_eni: 0.15}
    for eni, seconds in mine.items():
        world.strict.slow(
            "AttachNetworkInterface", seconds, when=lambda p, e=eni: p["NetworkInterfaceId"] == e
        )
    first, second = contend(
        [
            lambda s=s: eniops.failover_instance(
                s, to_instance=world.lab.standby, ec2=world.client, timeout=60
            )
            for s in (world.lab.active, other)
        ]
    )
    assert isinstance(first, eniops.Result), first
    assert isinstance(second, eniops.Result), second
    attached = {e: world.eni(e)["Attachment"] for e in mine}
    assert {a["InstanceId"] for a in attached.values()} == {world.lab.standby}
    assert sorted(a["DeviceIndex"] for a in attached.values()) == [1, 2]
    attaches = [c for c in world.strict.calls if c.operation == "AttachNetworkInterface"]
    (refused,) = [c for c in attaches if c.error is not None]
    assert (refused.error, refused.params["DeviceIndex"]) == ("InvalidParameterValue", 1)
    (again,) = [c for c in attaches if c.at > refused.ended]
    assert (again.error, again.params["DeviceIndex"], again.params["NetworkInterfaceId"]) == (
        None,
        2,
        refused.params["NetworkInterfaceId"],
    )
    assert len(attaches) == 3
    said = [w for r in (first, second) for c in r.children for w in c.warnings]
    assert any("device index 1" in w and "attached at 2" in w for w in said)
