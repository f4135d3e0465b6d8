"""failover_instance on the strict layer: all-or-nothing checks, what moves (and what tags may
add), reads in one round trip."""

from __future__ import annotations

import pytest
from support import more_enis, tags_of, v6_of

import eniops
from eniops._core import _codes
from eniops.testing import MOTO_IMAGE_ID, MUTATING_OPERATIONS, round_trips


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


def _floating(world, ip="10.0.1.77", on=None):
    """A secondary IP on the primary ENI of `on` (the active instance); that ENI's id."""
    eni = world.primary_eni(on or world.lab.active)
    with world.strict.internal() as client:
        client.assign_private_ip_addresses(NetworkInterfaceId=eni, PrivateIpAddresses=[ip])
    return eni


def _third_eni_holds(world):
    """The IP on an ENI that is neither the source's nor the standby's."""
    with world.strict.internal() as client:
        subnet = world.eni(world.primary_eni(world.lab.active))["SubnetId"]
        client.create_network_interface(SubnetId=subnet, PrivateIpAddress="10.0.1.77")
    return {"ips": ["10.0.1.77"]}


def _source_primary_ip(world):
    return {"ips": [world.eni(world.primary_eni(world.lab.active))["PrivateIpAddress"]]}


def _across_subnets(world):
    _floating(world)
    return {"ips": ["10.0.1.77"], "to_instance": world.lab.far}


def _free_outside_subnet(world):
    return {"ips": ["10.0.9.77"]}


def _free_reserved(world):
    return {"ips": ["10.0.1.1"]}


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        (_other_az, "az-mismatch"),
        (_pending_standby, "instance-state"),
        (_too_few_slots, "attachment-limit"),
        (_target_has_eip, "target-has-eip"),
        (_untagged_eni, "tag-guard"),
        (_other_vpc, "vpc-mismatch"),
        (_third_eni_holds, "ip-in-use"),
        (_source_primary_ip, "ip-is-primary"),
        (_across_subnets, "ip-outside-subnet"),
        (_free_outside_subnet, "ip-outside-subnet"),
        (_free_reserved, "ip-reserved"),
    ],
    ids=[
        "other-az",
        "pending-standby",
        "too-few-slots",
        "target-has-eip",
        "tag-guard",
        "other-vpc",
        "ip-on-a-third-eni",
        "ip-source-primary",
        "ip-across-subnets",
        "ip-free-outside",
        "ip-free-reserved",
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


# -- tags are hints: what the source carries decides ------------------------------------------

HOLDER = "eniops:holder"


def _tag(world, resource, key, value):
    with world.strict.internal() as client:
        client.create_tags(Resources=[resource], Tags=[{"Key": key, "Value": value}])


def _spare_address(world, tag):
    """An unassociated address tagged for the active instance whose public IP sorts first
    (eniops looks at addresses in that order: the spare is seen before the service's)."""
    with world.strict.internal() as client:
        made = client.allocate_address(Domain="vpc", Address="1.1.1.1")
    assert made["PublicIp"] < world.lab.public_ip  # moto gives 127.x.y.z
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


def test_a_forged_intent_never_sets_delete_on_termination(world):
    """A foreign free ENI in the active instance's zone carries a forged intent from it with
    dot=true: the failover attaches it (the tag agrees with what EC2 shows) but leaves
    DeleteOnTermination off, so terminating the standby cannot delete someone else's ENI; a
    warning names the ENI and says how to set it. The intent goes once it is attached."""
    intent = f"from={world.lab.active} to={world.lab.standby} index=2 dot=true"
    forged = _free_eni(world, world.lab.zone_a, "10.0.9.0/24", {"eniops:move": intent})
    result = _failover(world)
    attached = world.eni(forged)["Attachment"]
    assert attached["InstanceId"] == world.lab.standby
    assert attached["DeleteOnTermination"] is False
    assert world.strict.count("ModifyNetworkInterfaceAttribute") == 0
    (warning,) = [w for c in result.children for w in c.warnings if "DeleteOnTermination" in w]
    assert forged in warning
    assert "modify-network-interface-attribute" in warning
    assert "eniops:move" not in tags_of(world, forged)


def test_a_forged_intent_on_an_eni_attached_to_the_standby_sets_no_delete_on_termination(world):
    """An ENI attached to the standby at the index a forged intent from the active instance
    records, dot=true: the failover finishes that 'move' (its intent removed, its holder
    tagged) but never restores DeleteOnTermination on the tag's word."""
    (own,) = more_enis(world, 1, on=world.lab.standby)
    index = world.eni(own)["Attachment"]["DeviceIndex"]
    _tag(
        world,
        own,
        "eniops:move",
        f"from={world.lab.active} to={world.lab.standby} index={index} dot=true",
    )
    result = _failover(world)
    assert world.eni(own)["Attachment"]["DeleteOnTermination"] is False
    assert world.strict.count("ModifyNetworkInterfaceAttribute") == 0
    assert any(own in w for c in result.children for w in c.warnings if "DeleteOnTermination" in w)


# -- what moves, and how ----------------------------------------------------------------


def test_failover_moves_everything_and_second_run_is_a_no_op(world):
    """The EIP and the floating ENI go to the standby; a re-run changes nothing."""
    result = eniops.failover_instance(
        world.lab.active, to_instance=world.lab.standby, ec2=world.client
    )
    assert result.changed
    assert {c.operation for c in result.children} == {"remap_eip", "move_eni", "move_route"}
    assert world.address()["InstanceId"] == world.lab.standby
    assert world.eni(world.lab.floating_eni)["Attachment"]["InstanceId"] == world.lab.standby
    world.strict.reset_calls()
    again = eniops.failover_instance(
        world.lab.active, to_instance=world.lab.standby, ec2=world.client
    )
    assert not again.changed
    assert world.strict.mutations == []


def test_failover_plan_changes_nothing(world):
    """plan checks every step and changes nothing."""
    result = eniops.failover_instance(
        world.lab.active, to_instance=world.lab.standby, mode="plan", ec2=world.client
    )
    assert len(result.children) == 4  # the address, the ENI, the overlay route in two tables
    assert world.strict.mutations == []


def test_failover_partial_failure_reports_every_step(world):
    """One step fails after another changed: PartialFailure lists each step's outcome."""
    world.strict.inject("AttachNetworkInterface", _codes.INVALID_PARAMETER_VALUE, times=2)
    with pytest.raises(eniops.PartialFailure) as caught:
        eniops.failover_instance(world.lab.active, to_instance=world.lab.standby, ec2=world.client)
    steps = caught.value.details["steps"]
    assert {("result" in s) for s in steps} == {True, False}
    assert world.address()["InstanceId"] == world.lab.standby


def test_failover_moves_an_eip_on_a_secondary_ip_with_its_ip(world):
    """An EIP on a secondary IP moves with that IP to the standby's primary ENI."""
    vip = "10.0.1.88"
    active_eni = world.primary_eni(world.lab.active)
    world.client.assign_private_ip_addresses(
        NetworkInterfaceId=active_eni, PrivateIpAddresses=[vip]
    )
    eniops.remap_eip(world.lab.eip, to_eni=active_eni, private_ip=vip, ec2=world.client)
    world.strict.reset_calls()
    result = eniops.failover_instance(
        world.lab.active, to_instance=world.lab.standby, ec2=world.client
    )
    assert "add_secondary_ips" in {c.operation for c in result.children}
    address = world.address()
    assert (address["InstanceId"], address["PrivateIpAddress"]) == (world.lab.standby, vip)
    assign = next(c for c in world.strict.calls if c.operation == "AssignPrivateIpAddresses")
    assert assign.params["AllowReassignment"] is True
    assert vip not in world.ips(active_eni)


def test_failover_reads_in_one_round_trip_before_its_steps(world):
    """Instances, addresses, eniops' tagged ENIs and the route tables are read together."""
    world.strict.latency_s = 0.02
    eniops.describe(world.lab.standby, ec2=world.client)  # the instance type, cached
    world.strict.reset_calls()
    eniops.failover_instance(world.lab.active, to_instance=world.lab.standby, ec2=world.client)
    calls = world.strict.calls
    first = next(i for i, c in enumerate(calls) if c.operation in MUTATING_OPERATIONS)
    assert sorted(c.operation for c in calls[:first]) == [
        "DescribeAddresses",
        "DescribeInstances",
        "DescribeNetworkInterfaces",  # the ENIs eniops tagged (the attached ones come with the
        "DescribeRouteTables",  # instances; their tags are read too only for a tag guard)
    ]
    assert round_trips(calls[:first]) == 1
    instances = next(c for c in calls[:first] if c.operation == "DescribeInstances")
    assert instances.params == {"InstanceIds": [world.lab.active, world.lab.standby]}


def test_failover_refuses_a_secondary_ip_eip_across_subnets(world):
    """An EIP on a secondary IP cannot follow to a standby in another subnet: nothing changes."""
    vip = "10.0.1.89"
    active_eni = world.primary_eni(world.lab.active)
    world.client.assign_private_ip_addresses(
        NetworkInterfaceId=active_eni, PrivateIpAddresses=[vip]
    )
    eniops.remap_eip(world.lab.eip, to_eni=active_eni, private_ip=vip, ec2=world.client)
    world.strict.reset_calls()
    with pytest.raises(eniops.PreconditionFailed) as caught:
        eniops.failover_instance(world.lab.active, to_instance=world.lab.far, ec2=world.client)
    assert caught.value.reason == "ip-outside-subnet"
    assert world.strict.mutations == []


def test_failover_leaves_service_interfaces_alone(world):
    """An interface of another type on the failed instance is not moved."""
    eni = world.lab.floating_eni

    def as_efa(parsed, **_):
        for reservation in parsed.get("Reservations", []):
            for instance in reservation["Instances"]:
                for entry in instance.get("NetworkInterfaces", []):
                    if entry["NetworkInterfaceId"] == eni:
                        entry["InterfaceType"] = "efa"

    def as_efa_eni(parsed, **_):
        for entry in parsed.get("NetworkInterfaces", []):
            if entry["NetworkInterfaceId"] == eni:
                entry["InterfaceType"] = "efa"

    world.client.meta.events.register("after-call.ec2.DescribeInstances", as_efa)
    world.client.meta.events.register("after-call.ec2.DescribeNetworkInterfaces", as_efa_eni)
    result = eniops.failover_instance(
        world.lab.active, to_instance=world.lab.standby, ec2=world.client
    )
    assert sorted(c.operation for c in result.children) == ["move_route", "move_route", "remap_eip"]
    assert world.eni(eni)["Attachment"]["InstanceId"] == world.lab.active


# -- floating IPs (`ips`) ---------------------------------------------------------------------


def test_failover_moves_a_floating_ip_and_a_rerun_leaves_it(world):
    """`ips`: reassigned from the source's primary ENI, guarded and confirmed; a re-run finds
    it on the standby and changes nothing."""
    active_eni = _floating(world)
    standby_eni = world.primary_eni(world.lab.standby)
    world.strict.reset_calls()
    result = eniops.failover_instance(
        world.lab.active, to_instance=world.lab.standby, ips=["10.0.1.77"], ec2=world.client
    )
    assert result.changed
    assert "10.0.1.77" in world.ips(standby_eni)
    assert "10.0.1.77" not in world.ips(active_eni)
    (assign,) = [c for c in world.strict.calls if c.operation == "AssignPrivateIpAddresses"]
    assert assign.params == {
        "NetworkInterfaceId": standby_eni,
        "PrivateIpAddresses": ["10.0.1.77"],
        "AllowReassignment": True,
    }
    assert result.before["ips"] == ["10.0.1.77"]
    world.strict.reset_calls()
    again = eniops.failover_instance(
        world.lab.active, to_instance=world.lab.standby, ips=["10.0.1.77"], ec2=world.client
    )
    assert not again.changed
    assert world.strict.mutations == []


def test_a_floating_ip_no_eni_holds_is_assigned_without_reassignment(world):
    """The source's teardown freed the IP: it is assigned to the standby, and EC2 (not a
    reassignment) decides if someone took it meanwhile; the subnet is read only then."""
    standby_eni = world.primary_eni(world.lab.standby)
    world.strict.reset_calls()
    eniops.failover_instance(
        world.lab.active, to_instance=world.lab.standby, ips=["10.0.1.78"], ec2=world.client
    )
    assert "10.0.1.78" in world.ips(standby_eni)
    (assign,) = [c for c in world.strict.calls if c.operation == "AssignPrivateIpAddresses"]
    assert assign.params["AllowReassignment"] is False
    assert [c.operation for c in world.strict.calls].count("DescribeSubnets") == 1


def test_floating_ips_read_in_the_first_round_trip(world):
    """Who holds each floating IP rides with the failover's first reads: no subnet read, no
    extra round trip when every IP is on the source."""
    _floating(world)
    world.strict.latency_s = 0.02
    eniops.describe(world.lab.standby, ec2=world.client)  # the instance type, cached
    world.strict.reset_calls()
    eniops.failover_instance(
        world.lab.active, to_instance=world.lab.standby, ips=["10.0.1.77"], ec2=world.client
    )
    calls = world.strict.calls
    first = next(i for i, c in enumerate(calls) if c.operation in MUTATING_OPERATIONS)
    assert round_trips(calls[:first]) == 1
    holders = [c for c in calls[:first] if c.params.get("Filters")]
    assert {"Name": "addresses.private-ip-address", "Values": ["10.0.1.77"]} in [
        f for c in holders for f in c.params["Filters"]
    ]
    assert "DescribeSubnets" not in [c.operation for c in calls]


def test_failover_moves_ipv6_routes_with_the_ipv4_ones(world):
    """Routes to the source's primary ENI move whatever their family, each by its own
    destination parameter, all at once; a re-run changes nothing."""
    active, standby = world.primary_eni(world.lab.active), world.primary_eni(world.lab.standby)
    with world.strict.internal() as client:
        for table in world.lab.route_tables:
            client.create_route(
                RouteTableId=table,
                DestinationIpv6CidrBlock="2001:db8::10/128",
                NetworkInterfaceId=active,
            )
    result = eniops.failover_instance(
        world.lab.active, to_instance=world.lab.standby, ec2=world.client
    )
    tables = world.client.describe_route_tables(RouteTableIds=list(world.lab.route_tables))
    moved = {
        (
            r.get("DestinationCidrBlock") or r.get("DestinationIpv6CidrBlock"),
            r["NetworkInterfaceId"],
        )
        for t in tables["RouteTables"]
        for r in t["Routes"]
        if r.get("NetworkInterfaceId")
    }
    assert moved == {(world.lab.overlay, standby), ("2001:db8::10/128", standby)}
    destinations = sorted(r["destination"] for r in result.before["routes"])
    assert destinations == sorted([world.lab.overlay, "2001:db8::10/128"] * 2)
    world.strict.reset_calls()
    assert not eniops.failover_instance(
        world.lab.active, to_instance=world.lab.standby, ec2=world.client
    ).changed


# -- IPv6 floating IPs ----------------------------------------------------------------------


def _floating6(world, dual, *indexes, on=None):
    """IPv6 addresses of subnet a on the primary ENI of `on` (the active instance)."""
    eni = world.primary_eni(on or world.lab.active)
    ips = [str(dual[i]) for i in indexes]
    with world.strict.internal() as client:
        client.assign_ipv6_addresses(NetworkInterfaceId=eni, Ipv6Addresses=ips)
    return eni, ips


def _v6_calls(world):
    """The IPv6 calls a failover made, and its writes of the `eniops:ip-move` intent."""
    return [
        c.operation
        for c in world.strict.mutations
        if "Ipv6" in c.operation
        or (c.operation.endswith("Tags") and c.params["Tags"][0]["Key"] == "eniops:ip-move")
    ]


def _failover_ips(world, ips, **more):
    return eniops.failover_instance(
        world.lab.active, to_instance=world.lab.standby, ips=ips, ec2=world.client, **more
    )


def test_a_dual_stack_failover_moves_everything_at_once(world, dual):
    """An Elastic IP, a secondary ENI, an IPv4 and two IPv6 floating IPs and an IPv6 route:
    one round trip of reads before the first change, IPv6 by its two steps (the intent on
    the standby's primary ENI first), nothing left on the source; a re-run changes nothing."""
    _floating(world)
    active, (v6a, v6b) = _floating6(world, dual, 0x60, 0x61)
    standby = world.primary_eni(world.lab.standby)
    with world.strict.internal() as client:
        client.create_route(
            RouteTableId=world.lab.route_tables[0],
            DestinationIpv6CidrBlock="2001:db8::10/128",
            NetworkInterfaceId=active,
        )
    world.strict.latency_s = 0.02
    eniops.describe(world.lab.standby, ec2=world.client)  # the instance type, cached
    world.strict.reset_calls()
    result = _failover_ips(world, ["10.0.1.77", v6a, v6b])
    assert result.changed
    calls = world.strict.calls
    first = next(i for i, c in enumerate(calls) if c.operation in MUTATING_OPERATIONS)
    assert round_trips(calls[:first]) == 1
    filters = [f for c in calls[:first] for f in c.params.get("Filters", [])]
    assert {"Name": "ipv6-addresses.ipv6-address", "Values": [v6a, v6b]} in filters
    assert sorted(v6_of(world, standby)) == sorted([v6a, v6b])
    assert v6_of(world, active) == []
    assert "10.0.1.77" in world.ips(standby)
    assert "eniops:ip-move" not in tags_of(world, standby)
    ops = [c.operation for c in world.strict.mutations]
    intent = next(
        i
        for i, c in enumerate(world.strict.mutations)
        if c.operation == "CreateTags" and c.params["Tags"][0]["Key"] == "eniops:ip-move"
    )
    assert intent < ops.index("UnassignIpv6Addresses") < ops.index("AssignIpv6Addresses")
    (unassign,) = [c for c in world.strict.mutations if c.operation == "UnassignIpv6Addresses"]
    assert unassign.params == {"NetworkInterfaceId": active, "Ipv6Addresses": [v6a, v6b]}
    assert world.eni(world.lab.floating_eni)["Attachment"]["InstanceId"] == world.lab.standby
    assert world.address()["InstanceId"] == world.lab.standby
    routes = world.client.describe_route_tables(RouteTableIds=[world.lab.route_tables[0]])
    (v6_route,) = [
        r
        for r in routes["RouteTables"][0]["Routes"]
        if r.get("DestinationIpv6CidrBlock") == "2001:db8::10/128"
    ]
    assert v6_route["NetworkInterfaceId"] == standby
    world.strict.reset_calls()
    assert not _failover_ips(world, ["10.0.1.77", v6a, v6b]).changed
    assert world.strict.mutations == []


@pytest.mark.parametrize(
    ("killed_after", "rerun"),
    [
        ("unassign", ["AssignIpv6Addresses", "DeleteTags"]),
        ("assign", ["DeleteTags"]),
    ],
)
def test_a_failover_killed_between_its_ipv6_steps_is_finished(world, dual, killed_after, rerun):
    """Killed after the unassign, the address is on no ENI and the standby's intent names it
    as coming from the source's primary ENI: the re-run assigns it (no unassign) and removes
    the intent. Killed after the assign: the re-run only removes the intent, beside a check
    that the address is there."""
    active, (ip,) = _floating6(world, dual, 0x62)
    standby = world.primary_eni(world.lab.standby)
    with world.strict.internal() as client:
        intent = {"Key": "eniops:ip-move", "Value": f"from={active} ips={ip}"}
        client.create_tags(Resources=[standby], Tags=[intent])
        client.unassign_ipv6_addresses(NetworkInterfaceId=active, Ipv6Addresses=[ip])
        if killed_after == "assign":
            client.assign_ipv6_addresses(NetworkInterfaceId=standby, Ipv6Addresses=[ip])
    world.strict.reset_calls()
    assert _failover_ips(world, [ip]).changed
    assert _v6_calls(world) == rerun
    assert v6_of(world, standby) == [ip]
    assert v6_of(world, active) == []
    assert "eniops:ip-move" not in tags_of(world, standby)


@pytest.mark.parametrize("on", ["third", "standby"])
def test_a_strangers_ip_move_intent_never_blocks_a_failover(world, dual, on):
    """The floating IPv6 address is on no ENI and an ENI of the subnet (a third one, or the
    standby's own) carries a forged `eniops:ip-move` naming it as coming from itself: the
    intent is not the failover source's, so it neither blocks nor reserves the address. The
    failover moves the Elastic IP, the ENI and the routes, assigns the address to the standby,
    and names the forged tag in its warnings."""
    ip = str(dual[0x63])
    standby = world.primary_eni(world.lab.standby)
    with world.strict.internal() as client:
        if on == "third":
            made = client.create_network_interface(SubnetId=world.lab.subnet_a)
            forger = made["NetworkInterface"]["NetworkInterfaceId"]
        else:
            forger = standby
        intent = {"Key": "eniops:ip-move", "Value": f"from={forger} ips={ip}"}
        client.create_tags(Resources=[forger], Tags=[intent])
    world.strict.reset_calls()
    result = _failover_ips(world, [ip])
    assert result.changed
    assert world.address()["InstanceId"] == world.lab.standby
    assert world.eni(world.lab.floating_eni)["Attachment"]["InstanceId"] == world.lab.standby
    assert v6_of(world, standby) == [ip]
    assert _v6_calls(world) == ["AssignIpv6Addresses"]
    (warning,) = [w for w in result.warnings if "eniops:ip-move" in w]
    assert forger in warning
    assert ip in warning


def test_an_ipv6_address_no_eni_holds_is_assigned(world, dual):
    """The source's teardown freed it: assigned to the standby (no unassign), checked
    against the standby's subnet's IPv6 range first."""
    standby = world.primary_eni(world.lab.standby)
    ip = str(dual[0x64])
    world.strict.reset_calls()
    assert _failover_ips(world, [ip]).changed
    assert _v6_calls(world) == ["AssignIpv6Addresses"]
    assert v6_of(world, standby) == [ip]
    with pytest.raises(eniops.PreconditionFailed) as caught:
        _failover_ips(world, ["2001:db8:ffff::1"])
    assert caught.value.reason == "ip-outside-subnet"


def test_an_ipv6_address_held_by_a_third_eni_refuses_the_failover(world, dual):
    """Held by an ENI that is neither the source's nor the standby's: Conflict ip-in-use,
    before any change, whatever else the source carries."""
    ip = str(dual[0x65])
    with world.strict.internal() as client:
        third = client.create_network_interface(SubnetId=world.lab.subnet_a)["NetworkInterface"]
        client.assign_ipv6_addresses(
            NetworkInterfaceId=third["NetworkInterfaceId"], Ipv6Addresses=[ip]
        )
    world.strict.reset_calls()
    with pytest.raises(eniops.Conflict) as caught:
        _failover_ips(world, [ip])
    assert caught.value.reason == "ip-in-use"
    assert caught.value.details["holder"] == third["NetworkInterfaceId"]
    assert world.strict.mutations == []


def test_an_ipv6_failover_past_the_types_limit_is_refused(world, dual):
    """The standby's type allows so many IPv6 addresses per interface: ip-limit, nothing
    changed."""
    limit = eniops.describe(world.lab.standby, ec2=world.client)["limits"]["ipv6_per_eni"]
    active, ips = _floating6(world, dual, *range(0x70, 0x70 + limit + 1))
    world.strict.reset_calls()
    with pytest.raises(eniops.PreconditionFailed) as caught:
        _failover_ips(world, ips)
    assert caught.value.reason == "ip-limit"
    assert world.strict.mutations == []
    assert sorted(v6_of(world, active)) == sorted(ips)


def test_a_refused_ipv6_assign_in_a_failover_puts_the_address_back(world, dual):
    """The standby refuses the assign after the source's unassign: the address goes back to
    the source's primary ENI and the intent goes (PartialFailure, rolled back)."""
    active, (ip,) = _floating6(world, dual, 0x66)
    standby = world.primary_eni(world.lab.standby)
    world.strict.inject(
        "AssignIpv6Addresses",
        "InvalidParameterValue",
        when=lambda p: p["NetworkInterfaceId"] == standby,
    )
    with pytest.raises(eniops.PartialFailure) as caught:
        _failover_ips(world, [ip])
    (step,) = [s for s in caught.value.details["steps"] if s["step"].startswith("move IPv6")]
    assert step["rolled_back"] is True
    statuses = [s["status"] for s in step["steps"]]
    assert statuses[:3] == ["rolled-back", "rolled-back", "failed"]
    assert v6_of(world, active) == [ip]
    assert v6_of(world, standby) == []
    assert "eniops:ip-move" not in tags_of(world, standby)


def test_the_plan_of_an_ipv6_failover_changes_nothing(world, dual):
    """plan and dry-run list the intent, the unassign and the assign, and change nothing."""
    active, (ip,) = _floating6(world, dual, 0x67)
    for mode in ("plan", "dry-run"):
        world.strict.reset_calls()
        result = _failover_ips(world, [ip], mode=mode)
        (six,) = [c for c in result.children if c.operation == "add_secondary_ips"]
        actions = [s.action for s in six.steps]
        assert actions == [
            "ec2:CreateTags",
            "ec2:UnassignIpv6Addresses",
            "ec2:AssignIpv6Addresses",
            "ec2:DeleteTags",
        ]
        assert [c for c in world.strict.mutations if not c.params.get("DryRun")] == []
        assert v6_of(world, active) == [ip]
