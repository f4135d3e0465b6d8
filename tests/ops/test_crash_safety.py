"""Crash-safe moves and honest deadlines, on the strict layer."""

from __future__ import annotations

import threading
import time

import pytest
from support import deadline_passes_at, strict_world

import eniops
from eniops._core import _codes
from eniops._state._tags import MOVE_TAG, MoveIntent
from eniops.testing import MUTATING_OPERATIONS


def tags(world, eni_id=None):
    return {t["Key"]: t["Value"] for t in world.eni(eni_id or world.lab.floating_eni)["TagSet"]}


def attachment(world, eni_id=None):
    """The ENI's attachment as EC2 (the strict layer) shows it."""
    shown = world.client.describe_network_interfaces(
        NetworkInterfaceIds=[eni_id or world.lab.floating_eni]
    )["NetworkInterfaces"][0]
    return shown.get("Attachment") or {}


def move_guarded(world):
    """The floating ENI moved from the active instance (expected there) to the standby."""
    return eniops.move_eni(
        world.lab.floating_eni,
        to_instance=world.lab.standby,
        expect_current=world.lab.active,
        ec2=world.client,
    )


def crash_after_detach(world, *, index=1, dot=False, to=None):
    """The state a move killed right after its detach leaves: available, intent tagged."""
    intent = MoveIntent(world.lab.active, to or world.lab.standby, index, dot).format()
    with world.strict.internal() as client:
        client.create_tags(
            Resources=[world.lab.floating_eni], Tags=[{"Key": MOVE_TAG, "Value": intent}]
        )
        client.detach_network_interface(AttachmentId=attachment(world)["AttachmentId"])
    world.strict.reset_calls()


def test_a_crashed_move_is_completed_by_the_same_move(world):
    """Detached with an intent: the re-run attaches at the recorded index, restores
    DeleteOnTermination, and clears the intent; expect_current still names the source."""
    crash_after_detach(world, index=2, dot=True)
    shown = eniops.describe(world.lab.floating_eni, ec2=world.client)
    assert shown["pending_move"].startswith(f"from={world.lab.active}")
    result = move_guarded(world)
    assert result.changed
    now = attachment(world)
    assert (now["InstanceId"], now["DeviceIndex"], now["DeleteOnTermination"]) == (
        world.lab.standby,
        2,
        True,
    )
    assert MOVE_TAG not in tags(world)
    assert world.strict.count("DetachNetworkInterface") == 0


def test_a_crashed_move_is_picked_up_by_the_failover(world):
    """A re-run failover moves the ENI its interrupted move left detached."""
    crash_after_detach(world)
    result = eniops.failover_instance(
        world.lab.active, to_instance=world.lab.standby, ec2=world.client
    )
    assert world.lab.floating_eni in result.before["enis"]
    assert attachment(world)["InstanceId"] == world.lab.standby
    assert MOVE_TAG not in tags(world)


def test_a_move_crashed_before_its_detach_is_completed(world):
    """Still attached with its intent written: the re-run detaches and attaches, and does
    not write the same intent again."""
    intent = MoveIntent(world.lab.active, world.lab.standby, 1, False).format()
    with world.strict.internal() as client:
        client.create_tags(
            Resources=[world.lab.floating_eni], Tags=[{"Key": MOVE_TAG, "Value": intent}]
        )
    world.strict.reset_calls()
    eniops.move_eni(world.lab.floating_eni, to_instance=world.lab.standby, ec2=world.client)
    assert attachment(world)["InstanceId"] == world.lab.standby
    assert [c.operation for c in world.strict.mutations][:2] == [
        "DetachNetworkInterface",
        "AttachNetworkInterface",
    ]


def test_already_there_means_attached(world):
    """An ENI still attaching to the target is waited for, not reported done at once."""
    with world.strict.internal() as client:
        client.detach_network_interface(AttachmentId=attachment(world)["AttachmentId"])
    world.strict.hold("AttachNetworkInterface", polls=3)
    world.client.attach_network_interface(
        NetworkInterfaceId=world.lab.floating_eni, InstanceId=world.lab.standby, DeviceIndex=1
    )
    world.strict.reset_calls()
    result = eniops.move_eni(
        world.lab.floating_eni, to_instance=world.lab.standby, ec2=world.client
    )
    assert result.after["eni"]["attachment_status"] == "attached"
    assert world.strict.mutations == []
    assert world.strict.count("DescribeNetworkInterfaces") >= 3


def test_moving_back_to_the_instance_it_is_detaching_from(world):
    """Detaching from active and moved to active: it waits, then attaches again."""
    world.strict.hold("DetachNetworkInterface", polls=3)
    world.client.detach_network_interface(AttachmentId=attachment(world)["AttachmentId"])
    result = eniops.move_eni(world.lab.floating_eni, to_instance=world.lab.active, ec2=world.client)
    assert result.changed
    assert attachment(world)["InstanceId"] == world.lab.active
    assert attachment(world)["Status"] == "attached"


@pytest.mark.parametrize("timeout", [0.5, 1.0])
def test_no_change_starts_after_the_deadline(timeout):
    """Every call takes 0.7 s: no mutating call starts after the deadline, and
    OperationTimeout comes within the timeout plus the one call in flight. With 0.5 s the
    reads outlast it and nothing is written; with 1 s (the reads one round trip, the type's
    limits from the shipped table) the intent is written and the detach is not; the error says
    the ENI is still on its source."""
    with strict_world() as world:
        world.strict.latency_s = 0.7
        started = time.monotonic()
        with pytest.raises(eniops.OperationTimeout) as caught:
            eniops.move_eni(
                world.lab.floating_eni,
                to_instance=world.lab.standby,
                ec2=world.client,
                timeout=timeout,
            )
        elapsed = time.monotonic() - started
        changes = [c for c in world.strict.calls if c.operation in MUTATING_OPERATIONS]
        assert all(c.at - started < timeout for c in changes), [c.at - started for c in changes]
        assert elapsed < timeout + 0.7 + 1.0  # the slack is for a loaded machine
        assert world.strict.count("DetachNetworkInterface") == 0
        assert [c.operation for c in changes] == (["CreateTags"] if timeout > 0.7 else [])
        if changes:
            assert caught.value.details["state"]["instance"] == world.lab.active


def test_a_third_party_move_during_a_wait_is_a_conflict_at_once(world):
    """Someone attaches the ENI elsewhere while eniops waits for its detach: Conflict now,
    not at the deadline."""
    world.strict.hold("DetachNetworkInterface", polls=10_000)

    def take_it(**_):
        with world.strict.internal() as client:
            client.attach_network_interface(
                NetworkInterfaceId=world.lab.floating_eni, InstanceId=world.lab.far, DeviceIndex=1
            )

    world.client.meta.events.register("after-call.ec2.DetachNetworkInterface", take_it)
    world.strict.hold("DetachNetworkInterface", polls=0)
    started = time.monotonic()
    with pytest.raises(eniops.Conflict) as caught:
        eniops.move_eni(
            world.lab.floating_eni, to_instance=world.lab.standby, ec2=world.client, timeout=60
        )
    assert time.monotonic() - started < 10
    assert caught.value.details["state"]["instance"] == world.lab.far


MOVE_CALLS = ["CreateTags", "DetachNetworkInterface", "AttachNetworkInterface", "DeleteTags"]


@pytest.mark.parametrize("operation", MOVE_CALLS)
def test_a_lost_answer_on_any_change_of_a_move_is_done(world, operation):
    """EC2 made the change but answered 5xx: read, reported done with a warning."""
    world.strict.inject(operation, _codes.INTERNAL_ERROR, after_success=True)
    result = eniops.move_eni(
        world.lab.floating_eni, to_instance=world.lab.standby, ec2=world.client
    )
    assert attachment(world)["InstanceId"] == world.lab.standby
    assert result.changed
    if operation != "DeleteTags":  # a bookkeeping tag: retried, or a warning
        assert any("in place" in w for w in result.warnings)


@pytest.mark.parametrize(
    ("operation", "run"),
    [
        (
            "AssociateAddress",
            lambda w: eniops.remap_eip(w.lab.eip, to_instance=w.lab.standby, ec2=w.client),
        ),
        (
            "ReplaceRoute",
            lambda w: eniops.move_route(w.lab.overlay, to_instance=w.lab.standby, ec2=w.client),
        ),
        (
            "AssignPrivateIpAddresses",
            lambda w: eniops.add_secondary_ips(w.lab.standby, count=1, ec2=w.client),
        ),
        ("DetachNetworkInterface", lambda w: eniops.detach_eni(w.lab.floating_eni, ec2=w.client)),
    ],
    ids=["associate", "replace-route", "assign", "detach"],
)
def test_lost_and_late_answers_are_done(world, operation, run):
    """A lost answer (5xx after the change) and a late one: both end as done."""
    world.strict.inject(operation, _codes.INTERNAL_ERROR, after_success=True)
    world.strict.late(operation, 0.3, times=5)
    result = run(world)
    assert result.changed
    assert any("in place" in w for w in result.warnings)


def test_a_refused_delete_on_termination_restore_keeps_the_intent_and_a_rerun_finishes(world):
    """The ENI is attached to the target but the DeleteOnTermination restore was refused:
    PartialFailure, not rolled back, naming the ENI on the target (not PermissionDenied); the
    move is not whole, so its intent stays. The same call, run again once the permission is
    back, restores DeleteOnTermination and removes the intent."""
    world.client.modify_network_interface_attribute(
        NetworkInterfaceId=world.lab.floating_eni,
        Attachment={"AttachmentId": attachment(world)["AttachmentId"], "DeleteOnTermination": True},
    )
    world.strict.inject("ModifyNetworkInterfaceAttribute", _codes.UNAUTHORIZED_OPERATION)
    move = {"to_instance": world.lab.standby, "expect_current": world.lab.active}
    with pytest.raises(eniops.PartialFailure) as caught:
        eniops.move_eni(world.lab.floating_eni, ec2=world.client, **move)
    assert not caught.value.rolled_back
    assert caught.value.details["state"]["instance"] == world.lab.standby
    assert attachment(world)["InstanceId"] == world.lab.standby
    assert attachment(world)["DeleteOnTermination"] is False
    assert tags(world)[MOVE_TAG].endswith("dot=true")
    world.strict.reset_calls()
    again = eniops.move_eni(world.lab.floating_eni, ec2=world.client, **move)
    assert again.changed
    assert attachment(world)["DeleteOnTermination"] is True
    assert MOVE_TAG not in tags(world)
    ops = [c.operation for c in world.strict.mutations]
    assert ops == ["ModifyNetworkInterfaceAttribute", "CreateTags", "DeleteTags"]


def test_an_intent_that_cannot_be_written_stops_the_move(world):
    """CreateTags refused: the move stops before its detach, nothing changed."""
    world.strict.inject("CreateTags", _codes.UNAUTHORIZED_OPERATION)
    with pytest.raises(eniops.PermissionDenied):
        eniops.move_eni(world.lab.floating_eni, to_instance=world.lab.standby, ec2=world.client)
    assert world.strict.count("DetachNetworkInterface") == 0
    assert attachment(world)["InstanceId"] == world.lab.active


def test_a_refused_holder_tag_is_a_warning(world):
    """The holder tag is refused (an older IAM policy): the remap is done, with a warning."""
    world.strict.inject("CreateTags", _codes.UNAUTHORIZED_OPERATION)
    result = eniops.remap_eip(world.lab.eip, to_instance=world.lab.standby, ec2=world.client)
    assert result.changed
    assert any("eniops:holder" in w for w in result.warnings)


def test_throttled_polls_after_the_detach_are_waited_out(world):
    """Describes throttled thirty times right after the detach: retried within the deadline,
    not after a fixed number of attempts."""
    world.strict.inject(
        "DescribeNetworkInterfaces",
        _codes.REQUEST_LIMIT_EXCEEDED,
        times=30,
        when=lambda p: p.get("Filters", [{}])[0].get("Name") == "network-interface-id",
    )
    assert eniops.move_eni(
        world.lab.floating_eni, to_instance=world.lab.standby, ec2=world.client
    ).changed


def test_a_late_detach_answer_past_the_deadline_says_where_the_eni_is(monkeypatch):
    """The deadline passes while the detach is in flight and its answer comes late:
    OperationTimeout, with where the ENI is."""
    with strict_world() as world:
        world.strict.late("DetachNetworkInterface", 0.5)
        deadline_passes_at(world, "DetachNetworkInterface", monkeypatch)
        with pytest.raises(eniops.OperationTimeout) as caught:
            eniops.move_eni(
                world.lab.floating_eni, to_instance=world.lab.standby, ec2=world.client, timeout=60
            )
        assert world.strict.count("DetachNetworkInterface") == 1
        where = caught.value.details["resources"][world.lab.floating_eni]
        assert where["status"] == "available"
        assert where["pending_move"].startswith(f"from={world.lab.active}")


@pytest.mark.parametrize("attempt", range(5))
def test_two_runs_of_the_same_failover_at_once_are_no_conflict(attempt):
    """'stopping' and 'stopped' handled at once: both succeed, the ENI lands once."""
    with strict_world() as world:
        world.strict.hold("DetachNetworkInterface", polls=2)
        world.strict.hold("AttachNetworkInterface", polls=2)
        outcomes: list[object] = []
        start = threading.Barrier(2)

        def run():
            start.wait()
            try:
                outcomes.append(
                    eniops.failover_instance(
                        world.lab.active, to_instance=world.lab.standby, ec2=world.client
                    )
                )
            except eniops.EniopsError as err:
                outcomes.append(err)

        threads = [threading.Thread(target=run) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert all(isinstance(o, eniops.Result) for o in outcomes), outcomes
        assert attachment(world)["InstanceId"] == world.lab.standby
        assert MOVE_TAG not in tags(world)
        del attempt


class Killed(BaseException):
    """What a process being killed looks like to the code it interrupts."""


@pytest.mark.parametrize("operation", ["DescribeNetworkInterfaces", "AttachNetworkInterface"])
def test_a_crash_in_any_thread_reaches_the_caller_never_a_success(world, operation):
    """A failover's steps and its poller run on threads: something that is not an eniops
    error (a defect, the process being killed) ends the whole call with that exception,
    neither hanging a wait nor being reported as a success, and nothing is undone."""
    world.strict.hold("DetachNetworkInterface", polls=2)
    detached = threading.Event()

    def boom(model, **_):
        if model.name == "DetachNetworkInterface":
            detached.set()
        elif model.name == operation and detached.is_set():
            raise Killed

    world.client.meta.events.register_first("before-call.ec2", boom)
    with pytest.raises(Killed):
        eniops.failover_instance(
            world.lab.active, to_instance=world.lab.standby, ec2=world.client, timeout=20
        )
    # The Elastic IP's step ran on: it was not put back because of another thread's crash.
    assert world.address()["InstanceId"] == world.lab.standby
    assert world.strict.count("DisassociateAddress") == 0


class _Killed(BaseException):
    """The process running the move dies: every call from now on fails."""


def test_a_strangers_intent_is_written_over_before_the_detach(world):
    """An attached ENI carrying an intent a stranger wrote (from the target itself, at the
    very index the move picks): the move writes its own intent before its detach, so a move
    killed right after the detach is finished by its re-run, never refused on the stranger's
    word and left detached."""
    forged = MoveIntent(world.lab.standby, world.lab.standby, 1, False).format()
    with world.strict.internal() as client:
        client.create_tags(
            Resources=[world.lab.floating_eni], Tags=[{"Key": MOVE_TAG, "Value": forged}]
        )
    world.strict.reset_calls()
    detached: list[bool] = []

    def die(**_):
        if detached and not world.strict._is_internal():
            raise _Killed

    events = world.client.meta.events
    events.register_first("before-call.ec2", die)
    events.register("after-call.ec2.DetachNetworkInterface", lambda **_: detached.append(True))
    try:
        with pytest.raises(_Killed):
            move_guarded(world)
    finally:
        events.unregister("before-call.ec2", die)
    changes = [c.operation for c in world.strict.calls if c.mutating]
    assert changes[:2] == ["CreateTags", "DetachNetworkInterface"], changes
    assert (
        tags(world)[MOVE_TAG] == MoveIntent(world.lab.active, world.lab.standby, 1, False).format()
    )
    result = move_guarded(world)
    assert result.changed
    assert attachment(world)["InstanceId"] == world.lab.standby
    assert MOVE_TAG not in tags(world)
