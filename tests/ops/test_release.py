"""release_eip on the strict layer: guarded by the holder and by the association's own id,
confirmed, its holder tag removed only while it names the released holder; racing a remap,
exactly one of them wins."""

from __future__ import annotations

import random
import threading

import pytest

import eniops
from eniops.testing import round_trips

HOLDER = "eniops:holder"


def holder_tag(world):
    tags = {t["Key"]: t["Value"] for t in world.address().get("Tags", [])}
    return tags.get(HOLDER)


def mutations(world):
    return [c for c in world.strict.mutations if c.params.get("DryRun") is not True]


def test_release_disassociates_by_association_id_and_removes_the_holder_tag(world):
    """One DisassociateAddress by the AssociationId read, verified; the holder tag eniops
    wrote is removed; three round trips at most."""
    eniops.remap_eip(world.lab.eip, to_instance=world.lab.standby, ec2=world.client)
    association = world.address()["AssociationId"]
    assert holder_tag(world).startswith(world.lab.standby)
    world.strict.latency_s = 0.02
    world.strict.reset_calls()
    result = eniops.release_eip(world.lab.eip, expect_current=world.lab.standby, ec2=world.client)
    calls = world.strict.calls
    assert round_trips(calls) <= 3
    assert result.changed
    assert "AssociationId" not in world.address()
    assert holder_tag(world) is None
    (disassociate,) = [c for c in calls if c.operation == "DisassociateAddress"]
    assert disassociate.params == {"AssociationId": association}
    assert sorted(c.operation for c in mutations(world)) == ["DeleteTags", "DisassociateAddress"]
    assert result.before["address"]["instance"] == world.lab.standby
    assert result.after["address"]["instance"] is None


@pytest.mark.parametrize("value", ["{other}", "{other} ip=10.0.1.10", "not eniops' format"])
def test_a_holder_tag_naming_anyone_else_stays(world, value):
    """The address is released from the instance holding it; its holder tag names another
    instance (or does not read): the tag is not the released holder's, so it stays, and only
    the disassociation is sent."""
    tag = value.format(other=world.lab.far)
    world.client.create_tags(Resources=[world.lab.eip], Tags=[{"Key": HOLDER, "Value": tag}])
    world.strict.reset_calls()
    result = eniops.release_eip(world.lab.eip, expect_current=world.lab.active, ec2=world.client)
    assert result.changed
    assert "AssociationId" not in world.address()
    assert holder_tag(world) == tag
    assert [c.operation for c in mutations(world)] == ["DisassociateAddress"]


def test_release_by_eni_and_by_public_ip(world):
    """`expect_current` may name the ENI; `eip` may be the public address."""
    eni = world.primary_eni(world.lab.active)
    result = eniops.release_eip(world.lab.public_ip, expect_current=eni, ec2=world.client)
    assert result.changed
    assert "AssociationId" not in world.address()


def test_another_holder_is_a_conflict_and_nothing_changes(world):
    before = world.account()
    world.strict.reset_calls()
    with pytest.raises(eniops.Conflict) as caught:
        eniops.release_eip(world.lab.eip, expect_current=world.lab.standby, ec2=world.client)
    assert caught.value.reason == "expect-mismatch"
    assert mutations(world) == []
    assert world.account() == before


def test_a_holder_changed_after_the_read_is_a_conflict_not_a_disassociation(world):
    """The address moves to the standby between eniops' read and its call: EC2 refuses the
    stale association id and the address stays where the other writer put it."""
    standby_eni = world.primary_eni(world.lab.standby)
    moved = []

    def move_after_read(**_):
        if moved:
            return
        moved.append(True)
        with world.strict.internal() as client:
            client.associate_address(
                AllocationId=world.lab.eip, NetworkInterfaceId=standby_eni, AllowReassociation=True
            )

    world.client.meta.events.register("after-call.ec2.DescribeAddresses", move_after_read)
    with pytest.raises(eniops.Conflict) as caught:
        eniops.release_eip(world.lab.eip, expect_current=world.lab.active, ec2=world.client)
    assert caught.value.reason == "expect-mismatch"
    assert caught.value.details["answered"] == "InvalidAssociationID.NotFound"
    assert caught.value.details["current"]["eni"] == standby_eni
    assert world.address()["NetworkInterfaceId"] == standby_eni
    assert [c.operation for c in world.strict.calls].count("DisassociateAddress") == 1


def test_unassociated_is_a_no_op_whoever_is_named(world):
    eniops.release_eip(world.lab.eip, expect_current=world.lab.active, ec2=world.client)
    world.strict.reset_calls()
    for named in (world.lab.active, world.lab.far):
        again = eniops.release_eip(world.lab.eip, expect_current=named, ec2=world.client)
        assert not again.changed
        assert again.steps == ()
    assert mutations(world) == []


@pytest.mark.parametrize("mode", ["plan", "dry-run"])
def test_plan_and_dry_run_change_nothing(world, mode):
    before = world.account()
    world.strict.reset_calls()
    result = eniops.release_eip(
        world.lab.eip, expect_current=world.lab.active, mode=mode, ec2=world.client
    )
    assert not result.changed
    assert [s.action for s in result.steps] == ["ec2:DisassociateAddress"]
    assert mutations(world) == []
    assert world.account() == before
    dry = [c.operation for c in world.strict.calls if c.params.get("DryRun")]
    assert dry == (["DisassociateAddress"] if mode == "dry-run" else [])


def test_require_tag_guards_the_address(world):
    with pytest.raises(eniops.PreconditionFailed) as caught:
        eniops.release_eip(
            world.lab.eip,
            expect_current=world.lab.active,
            require_tag="team=payments",
            ec2=world.client,
        )
    assert caught.value.reason == "tag-guard"
    assert mutations(world) == []


@pytest.mark.parametrize("value", [None, eniops.UNASSOCIATED])
def test_expect_current_is_required(world, value):
    with pytest.raises(eniops.InvalidInput, match="expect_current"):
        eniops.release_eip(world.lab.eip, expect_current=value, ec2=world.client)
    assert world.strict.calls == []


@pytest.mark.parametrize("seed", range(8))
def test_racing_a_remap_exactly_one_wins(world, seed):
    """A release of the active's address and a failover remap of it to the standby, at once
    (each guarded by the active): exactly one succeeds; when the remap wins the address is
    on the standby, never left unassociated; when the release wins it is unassociated."""
    rng = random.Random(seed)
    world.strict.latency_s = 0.01
    outcomes: dict[str, object] = {}
    start = threading.Barrier(2)

    def attempt(name, call):
        start.wait()
        threading.Event().wait(rng.uniform(0, 0.03))
        try:
            outcomes[name] = call()
        except eniops.EniopsError as err:
            outcomes[name] = err

    calls = {
        "release": lambda: eniops.release_eip(
            world.lab.eip, expect_current=world.lab.active, ec2=world.client
        ),
        "remap": lambda: eniops.remap_eip(
            world.lab.eip,
            to_instance=world.lab.standby,
            expect_current=world.lab.active,
            ec2=world.client,
        ),
    }
    threads = [threading.Thread(target=attempt, args=item) for item in calls.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    won = sorted(name for name, o in outcomes.items() if isinstance(o, eniops.Result))
    assert len(won) == 1, outcomes
    lost = outcomes["remap" if won == ["release"] else "release"]
    assert isinstance(lost, eniops.Conflict), lost
    address = world.address()
    if won == ["remap"]:
        assert address.get("InstanceId") == world.lab.standby
    else:
        assert "AssociationId" not in address
