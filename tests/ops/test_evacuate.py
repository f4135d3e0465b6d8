"""evacuate on the strict layer: every pair of a zone failed over, each on its own; what
stops the whole evacuation, and what stops one pair only."""

from __future__ import annotations

import pytest

import eniops
from eniops._core import _codes
from eniops._core._errors import exit_code_for
from eniops.testing import add_zone_pairs


def holder(world, allocation: str) -> str | None:
    """The instance whose ENI holds the address now (None: nobody)."""
    with world.strict.internal() as client:
        found = client.describe_addresses(AllocationIds=[allocation])["Addresses"][0]
        eni = found.get("NetworkInterfaceId")
        if not eni:
            return None
        described = client.describe_network_interfaces(NetworkInterfaceIds=[eni])
    return described["NetworkInterfaces"][0].get("Attachment", {}).get("InstanceId")


@pytest.fixture
def pairs(world):
    """Three pairs across the zones: each active in zone a with an Elastic IP, its standby
    in zone b."""
    with world.strict.internal() as client:
        made = add_zone_pairs(client, world.lab, 3)
    world.strict.reset_calls()
    return made


def named(pairs):
    return {active: standby for active, standby, _ in pairs}


def test_every_pair_in_the_zone_moves_to_its_standby(world, pairs):
    """Each pair's Elastic IP ends on its standby, each pair reported moved with its
    failover's Result; nothing else changes."""
    evacuation = eniops.evacuate(world.lab.zone_a, pairs=named(pairs), ec2=world.client)
    assert (evacuation.moved, evacuation.unchanged, evacuation.refused, evacuation.failed) == (
        3,
        0,
        0,
        0,
    )
    assert evacuation.zone == world.lab.zone_a
    assert evacuation.exit_code == 0
    for _, standby, allocation in pairs:
        assert holder(world, allocation) == standby
    assert [(a, s) for a, s, _ in evacuation.pairs] == sorted((a, s) for a, s, _ in pairs)
    assert all(isinstance(r, eniops.Result) and r.changed for _, _, r in evacuation.pairs)
    assert holder(world, world.lab.eip) == world.lab.active  # not a pair: left alone


def test_a_standby_in_the_zone_is_refused_and_the_others_move(world, pairs):
    """A pair whose standby is in the zone too is refused (`standby-in-zone`), nothing of it
    changed; the other pairs move."""
    asked = {**named(pairs), world.lab.active: world.lab.standby}
    evacuation = eniops.evacuate(world.lab.zone_a, pairs=asked, ec2=world.client)
    ended = {a: o for a, _, o in evacuation.pairs}
    refusal = ended[world.lab.active]
    assert isinstance(refusal, eniops.PreconditionFailed)
    assert refusal.reason == "standby-in-zone"
    assert (evacuation.moved, evacuation.refused) == (3, 1)
    assert evacuation.exit_code == 3
    assert holder(world, world.lab.eip) == world.lab.active
    assert evacuation.to_dict()["pairs"][0]["end"] in ("moved", "refused")


def test_an_unknown_zone_is_refused_with_the_regions_zones_after_one_read(world, pairs):
    """A zone the Region does not have: InvalidInput naming its zones; reading them is the
    only call."""
    with pytest.raises(eniops.InvalidInput, match=r"us-east-1b \(use1-") as refused:
        eniops.evacuate("us-east-1q", pairs=named(pairs), ec2=world.client)
    assert world.lab.zone_b in refused.value.details["zones"]
    assert world.strict.operations() == ["DescribeAvailabilityZones"]


@pytest.mark.parametrize("zone", ["us-east-1 a", "", "US-EAST-1A", "a" * 70, None, 7])
def test_a_malformed_zone_is_refused_before_any_call(world, zone):
    """Not a zone's name or id: InvalidInput before any call."""
    with pytest.raises(eniops.InvalidInput):
        eniops.evacuate(zone, ec2=world.client)
    assert world.strict.calls == []


def test_malformed_pairs_are_refused_before_any_call(world):
    """Pairs that are not instance ids, or an instance its own standby: before any call."""
    for bad in ({"i-nope": "i-0123456789abcdef0"}, {world.lab.active: world.lab.active}, ["x"]):
        with pytest.raises(eniops.InvalidInput):
            eniops.evacuate(world.lab.zone_a, pairs=bad, ec2=world.client)
    assert world.strict.calls == []


def test_the_zone_may_be_named_by_its_id(world, pairs):
    """A zone id (`use1-az…`) names the same zone as its name."""
    with world.strict.internal() as client:
        zones = client.describe_availability_zones()["AvailabilityZones"]
    zone_id = next(z["ZoneId"] for z in zones if z["ZoneName"] == world.lab.zone_a)
    evacuation = eniops.evacuate(zone_id, pairs=named(pairs), ec2=world.client, mode="plan")
    assert evacuation.zone == world.lab.zone_a
    assert len(evacuation.pairs) == 3


def test_no_pair_in_the_zone_changes_nothing(world, pairs):
    """Nothing to evacuate: no pair, exit 0, no change."""
    evacuation = eniops.evacuate(world.lab.zone_b, pairs=named(pairs), ec2=world.client)
    assert evacuation.pairs == ()
    assert evacuation.exit_code == 0
    assert world.strict.mutations == []


def test_the_pairs_are_read_from_the_standby_tags(world, pairs, monkeypatch):
    """With no pairs named and no ENIOPS_STANDBY, the instances' eniops:standby tags say."""
    monkeypatch.delenv("ENIOPS_STANDBY", raising=False)
    evacuation = eniops.evacuate(world.lab.zone_a, ec2=world.client, mode="plan")
    assert sorted((a, s) for a, s, _ in evacuation.pairs) == sorted(named(pairs).items())
    assert world.strict.mutations == []


def test_plan_mode_plans_every_pair_and_changes_nothing(world, pairs):
    """mode="plan": each pair's plan, nothing changed."""
    evacuation = eniops.evacuate(
        world.lab.zone_a, pairs=named(pairs), ec2=world.client, mode="plan"
    )
    assert evacuation.unchanged == 3
    results = [r for _, _, r in evacuation.pairs]
    assert all(isinstance(r, eniops.Result) and r.mode == "plan" for r in results)
    assert all(not r.changed and (r.steps or r.children) for r in results)
    assert world.strict.mutations == []


def test_one_pair_failing_never_stops_the_others_and_a_rerun_finishes_it(world, pairs):
    """EC2 refuses one pair's association: that pair fails (its error says where things
    are), the others move; the same evacuation run again moves it and reports the others as
    nothing to do."""
    first = pairs[0][2]
    world.strict.inject(
        "AssociateAddress",
        _codes.UNAUTHORIZED_OPERATION,
        when=lambda params: params.get("AllocationId") == first,
    )
    evacuation = eniops.evacuate(world.lab.zone_a, pairs=named(pairs), ec2=world.client)
    assert (evacuation.moved, evacuation.failed) == (2, 1)
    failure = next(o for _, _, o in evacuation.pairs if isinstance(o, eniops.EniopsError))
    assert isinstance(failure, eniops.AwsError)
    assert evacuation.exit_code == exit_code_for(failure) == 5
    assert holder(world, first) == pairs[0][0]
    again = eniops.evacuate(world.lab.zone_a, pairs=named(pairs), ec2=world.client)
    assert (again.moved, again.unchanged, again.failed) == (1, 2, 0)
    assert all(holder(world, allocation) == standby for _, standby, allocation in pairs)


def test_progress_is_said_once_per_pair(world, pairs):
    """The evacuation's progress (what a terminal shows): one line per pair ended, not one
    per wait of each failover."""
    said: list[str] = []
    with eniops._core._settings.use_settings(progress=lambda doing, _: said.append(doing)):
        eniops.evacuate(world.lab.zone_a, pairs=named(pairs), ec2=world.client)
    assert len(said) == 3
    assert said[-1].startswith(f"evacuating {world.lab.zone_a}: 3 of 3 pairs done")


def test_a_pair_not_started_by_the_deadline_fails_and_nothing_of_it_is_sent(
    world, pairs, monkeypatch
):
    """`timeout` bounds the whole evacuation: one pair at a time, the first one slow, the
    deadline passes before the last starts; it fails (`OperationTimeout`, nothing sent) and
    its address stays where it was."""
    from eniops._ops import evacuate as module

    monkeypatch.setattr(module, "AT_ONCE", 1)
    world.strict.slow("AssociateAddress", 1.5)
    evacuation = eniops.evacuate(
        world.lab.zone_a, pairs=named(pairs), ec2=world.client, timeout=1.0
    )
    last_active, _, last = evacuation.pairs[-1]
    assert isinstance(last, eniops.OperationTimeout)
    assert last.details["sent"] is False
    allocation = next(a for active, _, a in pairs if active == last_active)
    assert holder(world, allocation) == last_active
    assert evacuation.failed >= 1


def test_a_tagged_pair_whose_active_is_terminated_is_evacuated_by_its_holder_tags(
    world, pairs, monkeypatch
):
    """Pairs read from the tags: an active already terminated is one of them (its failover
    finds its address by the holder tag eniops wrote, as a failover of a terminated instance
    does); the other pairs move as well."""
    monkeypatch.delenv("ENIOPS_STANDBY", raising=False)
    (gone, standby, allocation), *others = pairs
    with world.strict.internal() as client:
        found = client.describe_instances(InstanceIds=[gone])["Reservations"][0]["Instances"][0]
        written = f"{gone} ip={found['PrivateIpAddress']}"
        client.create_tags(
            Resources=[allocation], Tags=[{"Key": "eniops:holder", "Value": written}]
        )
    world.client.terminate_instances(InstanceIds=[gone])  # EC2's teardown: the address let go
    assert holder(world, allocation) is None
    world.strict.reset_calls()
    evacuation = eniops.evacuate(world.lab.zone_a, ec2=world.client)
    assert sorted((a, s) for a, s, _ in evacuation.pairs) == sorted(named(pairs).items())
    assert (evacuation.moved, evacuation.failed, evacuation.refused) == (3, 0, 0)
    assert holder(world, allocation) == standby
    assert all(holder(world, a) == s for _, s, a in others)
