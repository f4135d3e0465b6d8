"""failover_instance as one plan: all-or-nothing checks, one poller, settings in every worker."""

from __future__ import annotations

import itertools
from dataclasses import replace

import pytest
from support import more_enis, strict_world

import eniops
from eniops._settings import use_settings
from eniops.testing import MOTO_IMAGE_ID, fast_policy


def snapshot(world):
    """Where the lab's movable resources are: the address, the floating ENI, the routes."""
    with world.strict.internal() as client:
        address = client.describe_addresses(AllocationIds=[world.lab.eip])["Addresses"][0]
        eni = client.describe_network_interfaces(NetworkInterfaceIds=[world.lab.floating_eni])
        tables = client.describe_route_tables(RouteTableIds=list(world.lab.route_tables))
    routes = sorted(
        (t["RouteTableId"], r.get("NetworkInterfaceId"))
        for t in tables["RouteTables"]
        for r in t["Routes"]
        if r.get("DestinationCidrBlock") == world.lab.overlay
    )
    attachment = eni["NetworkInterfaces"][0].get("Attachment") or {}
    return address.get("NetworkInterfaceId"), attachment.get("InstanceId"), routes


def _other_az(world):
    return {"to_instance": world.lab.far}


def _pending_standby(world):
    def pending(parsed, **_):
        for reservation in parsed.get("Reservations", []):
            for instance in reservation["Instances"]:
                if instance["InstanceId"] == world.lab.standby:
                    instance["State"] = {"Code": 0, "Name": "pending"}

    world.client.meta.events.register("after-call.ec2.DescribeInstances", pending)
    return {}


def _too_few_slots(world):
    more_enis(world, 1, on=world.lab.active)  # two to move
    more_enis(world, 1, on=world.lab.standby)  # one free slot on the t3.large standby
    return {}


def _target_has_eip(world):
    world.own_eip_on(world.lab.standby)
    return {}


def _untagged_eni(world):
    with world.strict.internal() as client:
        client.delete_tags(Resources=[world.lab.floating_eni], Tags=[{"Key": "eniops:lab"}])
    return {"require_tag": "eniops:lab=true"}


def _other_vpc(world):
    """A standby in another VPC (a mistaken `eniops:standby` tag, say)."""
    with world.strict.internal() as client:
        vpc = client.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
        subnet = client.create_subnet(
            VpcId=vpc, CidrBlock="10.9.1.0/24", AvailabilityZone=world.lab.zone_a
        )["Subnet"]["SubnetId"]
        made = client.run_instances(
            ImageId=MOTO_IMAGE_ID, MinCount=1, MaxCount=1, InstanceType="t3.large", SubnetId=subnet
        )
    return {"to_instance": made["Instances"][0]["InstanceId"]}


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        (_other_az, "az-mismatch"),
        (_pending_standby, "instance-state"),
        (_too_few_slots, "attachment-limit"),
        (_target_has_eip, "target-has-eip"),
        (_untagged_eni, "tag-guard"),
        (_other_vpc, "vpc-mismatch"),
    ],
    ids=[
        "other-az",
        "pending-standby",
        "too-few-slots",
        "target-has-eip",
        "tag-guard",
        "other-vpc",
    ],
)
def test_apply_refuses_exactly_what_plan_refuses_and_changes_nothing(world, setup, reason):
    """Every failover refusal comes from plan and apply alike, before any change."""
    kwargs = {"to_instance": world.lab.standby, **setup(world)}
    before = snapshot(world)
    world.strict.reset_calls()
    for mode in ("plan", "apply"):
        with pytest.raises(eniops.PreconditionFailed) as caught:
            eniops.failover_instance(world.lab.active, mode=mode, ec2=world.client, **kwargs)
        assert caught.value.reason == reason, mode
    assert world.strict.mutations == []
    assert snapshot(world) == before


def test_a_detaching_interface_keeps_its_device_index(world):
    """An ENI still detaching from the standby holds its index: the move takes the next."""
    (leaving,) = more_enis(world, 1, on=world.lab.standby)
    world.strict.hold("DetachNetworkInterface", polls=10_000)
    attachment = world.eni(leaving)["Attachment"]["AttachmentId"]
    world.client.detach_network_interface(AttachmentId=attachment)  # held: still detaching
    planned = eniops.failover_instance(
        world.lab.active, to_instance=world.lab.standby, mode="plan", ec2=world.client
    )
    attach = next(s for child in planned.children for s in child.steps if "Attach" in s.action)
    assert attach.params["DeviceIndex"] == 2


def _polls_for(world, count):
    """Fail over `count` ENIs with held transitions; return the verification reads."""
    moving = more_enis(world, count - 1)
    world.strict.hold("DetachNetworkInterface", polls=3)
    world.strict.hold("AttachNetworkInterface", polls=3)
    world.strict.reset_calls()
    result = eniops.failover_instance(
        world.lab.active, to_instance=world.lab.standby, ec2=world.client
    )
    assert result.changed
    for eni in [world.lab.floating_eni, *moving]:
        assert world.eni(eni)["Attachment"]["InstanceId"] == world.lab.standby
    return [
        c
        for c in world.strict.calls
        if c.operation == "DescribeNetworkInterfaces"
        and c.params.get("Filters", [{}])[0].get("Name") == "network-interface-id"
    ]


def test_one_poller_reads_every_pending_eni_in_one_call(big_world):
    """Four ENIs waited for together: a poll names all the pending ones at once."""
    polls = _polls_for(big_world, 4)
    assert max(len(c.params["Filters"][0]["Values"]) for c in polls) == 4


def test_polls_do_not_grow_with_the_enis():
    """Verification reads for six ENIs stay near those for one (one poll each would be 6x)."""
    with strict_world("m5.24xlarge") as one:
        single = len(_polls_for(one, 1))
    with strict_world("m5.24xlarge") as six:
        several = len(_polls_for(six, 6))
    assert several < 3 * single, (single, several)


def test_settings_reach_every_worker(world):
    """short_waits() (the test's settings) drive the polls of failover steps run at once."""
    world.strict.hold("DetachNetworkInterface", polls=4)
    world.strict.hold("AttachNetworkInterface", polls=4)
    seen: list[str] = []
    with use_settings(progress=lambda doing, _elapsed: seen.append(doing)):
        eniops.failover_instance(world.lab.active, to_instance=world.lab.standby, ec2=world.client)
    polls = [
        c.at
        for c in world.strict.calls
        if c.operation == "DescribeNetworkInterfaces" and "Filters" in c.params
    ]
    gaps = [b - a for a, b in itertools.pairwise(polls)]
    # The production first delay is 0.1 s and grows to 0.4 s: with it, no poll would follow
    # another within 0.09 s. The median is used, as a busy machine may stretch a few gaps.
    assert sorted(gaps)[len(gaps) // 2] < 0.09, gaps
    assert any(f"{world.lab.floating_eni} to detach" in s for s in seen)
    assert any(f"{world.lab.floating_eni} to attach" in s for s in seen)


def test_the_poller_keeps_within_its_describe_budget(world):
    """With a poll interval far shorter than the budget allows, the describe budget paces the
    polls: over a held transition, no more than the burst plus the refill for the time taken
    (with a 5 ms interval and no budget it would be about 200 polls a second)."""
    world.strict.hold("DetachNetworkInterface", seconds=1.0)
    policy = replace(fast_policy(), poll_cap_s=0.005, poll_describes_per_s=10.0, poll_burst=2.0)
    with use_settings(policy=policy):
        eniops.failover_instance(world.lab.active, to_instance=world.lab.standby, ec2=world.client)
    calls = world.strict.calls
    detach = next(c for c in calls if c.operation == "DetachNetworkInterface")
    attach = next(c for c in calls if c.operation == "AttachNetworkInterface")
    polls = [
        c
        for c in calls
        if c.operation == "DescribeNetworkInterfaces" and detach.ended <= c.at <= attach.at
    ]
    assert len(polls) >= 3  # it did poll the held transition
    assert len(polls) <= 2.0 + 10.0 * (attach.at - detach.ended) + 1, len(polls)


# -- tags are hints: what the source carries decides ------------------------------------------

HOLDER = "eniops:holder"


def _tag(world, resource, key, value):
    with world.strict.internal() as client:
        client.create_tags(Resources=[resource], Tags=[{"Key": key, "Value": value}])


def _spare_address(world, tag):
    """An unassociated address tagged for the active instance whose public IP sorts first
    (moto gives addresses out in order: the spare's is made to sort before the service's)."""
    with world.strict.internal() as client:
        for _ in range(20):
            made = client.allocate_address(Domain="vpc")
            if made["PublicIp"] < world.lab.public_ip:
                break
            client.release_address(AllocationId=made["AllocationId"])
        else:
            pytest.fail("moto gave no public IP that sorts before the service address's")
    _tag(world, made["AllocationId"], HOLDER, tag)
    return made["AllocationId"]


def _free_eni(world, zone, subnet_cidr, tags):
    with world.strict.internal() as client:
        subnet = client.create_subnet(
            VpcId=world.lab.vpc_id, CidrBlock=subnet_cidr, AvailabilityZone=zone
        )["Subnet"]["SubnetId"]
        eni = client.create_network_interface(SubnetId=subnet)["NetworkInterface"]
    for key, value in tags.items():
        _tag(world, eni["NetworkInterfaceId"], key, value)
    return eni["NetworkInterfaceId"]


def _failover(world, **kwargs):
    return eniops.failover_instance(
        world.lab.active, to_instance=world.lab.standby, ec2=world.client, **kwargs
    )


@pytest.mark.parametrize(
    "recorded", ["10.0.1.250", "primary", None], ids=["elsewhere", "the-primary-ip", "bare"]
)
def test_a_spare_address_with_a_stale_holder_tag_never_hijacks_the_failover(world, recorded):
    """eniops once placed a spare address on the active instance, someone disassociated it
    with the AWS CLI, its tag stayed. The failover moves the address the active instance
    carries to the standby's primary IP; the spare stays unassociated, named in warnings;
    a re-run changes nothing and refuses nothing."""
    primary_ip = world.eni(world.primary_eni(world.lab.active))["PrivateIpAddress"]
    ip = primary_ip if recorded == "primary" else recorded
    spare = _spare_address(world, world.lab.active + (f" ip={ip}" if ip else ""))
    result = _failover(world)
    assert result.changed
    assert world.address()["NetworkInterfaceId"] == world.primary_eni(world.lab.standby)
    with world.strict.internal() as client:
        left = client.describe_addresses(AllocationIds=[spare])["Addresses"][0]
    assert not left.get("NetworkInterfaceId")
    assert any(f"{left['PublicIp']} was left where it is" in w for w in result.warnings)
    again = _failover(world)
    assert not again.changed


@pytest.mark.parametrize(
    "tags",
    [
        lambda w: {HOLDER: w.lab.active},
        lambda w: {"eniops:move": f"from={w.lab.active} to={w.lab.standby} index=2 dot=false"},
    ],
    ids=["holder-tag", "move-intent"],
)
def test_a_tagged_eni_in_another_zone_never_blocks_the_failover(world, tags):
    """A free ENI in zone b tagged for the active instance (it can never have been on it):
    the address, the floating ENI and the routes all move; the stray stays, named."""
    stray = _free_eni(world, world.lab.zone_b, "10.0.9.0/24", tags(world))
    before = snapshot(world)
    result = _failover(world)
    standby_primary = world.primary_eni(world.lab.standby)
    address, eni_on, routes = snapshot(world)
    assert address == standby_primary
    assert eni_on == world.lab.standby
    assert {target for _, target in routes} == {standby_primary}
    assert before != (address, eni_on, routes)
    assert "Attachment" not in world.eni(stray)
    assert any(f"{stray} was left where it is" in w for w in result.warnings)


def test_a_stray_holder_tag_under_require_tag_is_left_not_refused(world):
    """Every real resource carries the required tag; a free ENI in the same zone tagged for
    the active instance lacks it: the failover moves everything real, the stray stays."""
    stray = _free_eni(world, world.lab.zone_a, "10.0.9.0/24", {HOLDER: world.lab.active})
    result = _failover(world, require_tag="eniops:lab=true")
    assert snapshot(world)[:2] == (world.primary_eni(world.lab.standby), world.lab.standby)
    assert "Attachment" not in world.eni(stray)
    assert any(f"{stray} was left where it is" in w for w in result.warnings)


@pytest.mark.parametrize("index", ["32", "1" + "0" * 30], ids=["32", "10^30"])
def test_a_forged_device_index_is_never_sent(world, index):
    """A free ENI whose intent records a device index the standby's type does not have: it
    moves at the lowest free index, the recorded one ignored aloud."""
    intent = f"from={world.lab.active} to={world.lab.standby} index={index} dot=false"
    forged = _free_eni(world, world.lab.zone_a, "10.0.9.0/24", {"eniops:move": intent})
    result = _failover(world)
    sent = {
        c.params["DeviceIndex"]
        for c in world.strict.calls
        if c.operation == "AttachNetworkInterface"
    }
    assert sent <= {1, 2}
    assert world.eni(forged)["Attachment"]["InstanceId"] == world.lab.standby
    assert any("is not one t3.large has" in w for w in result.warnings)


def test_a_forged_intent_on_the_standbys_own_eni_leaves_it_alone(world):
    """The standby's own ENI carries an intent naming the active instance at another index
    with dot=true: it is not that move's attachment, so nothing is done to it."""
    (own,) = more_enis(world, 1, on=world.lab.standby)
    intent = f"from={world.lab.active} to={world.lab.standby} index=2 dot=true"
    _tag(world, own, "eniops:move", intent)
    result = _failover(world)
    touched = [c for c in world.strict.mutations if own in str(c.params)]
    assert touched == []
    assert world.eni(own)["Attachment"]["DeleteOnTermination"] is False
    assert any(f"{own} was left where it is" in w for w in result.warnings)
