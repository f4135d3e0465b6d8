"""Secondary IPs, failover_instance and the declared IAM permissions."""

from __future__ import annotations

import pytest

import eniops
from eniops import _codes, _registry
from eniops.testing import MUTATING_OPERATIONS, StrictEc2, round_trips


def ips_of(world, eni_id):
    return [p["PrivateIpAddress"] for p in world.eni(eni_id)["PrivateIpAddresses"]]


def test_add_by_count_never_reserved_or_used(world):
    """count picks free addresses: not reserved (.0-.3), not the instances' IPs."""
    used = {
        ip
        for i in (world.lab.active, world.lab.standby)
        for ip in ips_of(world, world.primary_eni(i))
    }
    result = eniops.add_secondary_ips(world.lab.standby, count=3, ec2=world.client)
    added = result.after["eni"]["secondary_ips"]
    assert len(added) == 3
    assert not set(added) & (used | {"10.0.1.0", "10.0.1.1", "10.0.1.2", "10.0.1.3"})
    assert set(added) <= set(ips_of(world, world.primary_eni(world.lab.standby)))
    assert world.strict.mutations[0].params["PrivateIpAddresses"] == added


def test_add_is_additive_and_idempotent(world):
    """Existing IPs stay; IPs already present are skipped; all present is a no-op."""
    eni = world.primary_eni(world.lab.standby)
    eniops.add_secondary_ips(eni, ips=["10.0.1.40"], ec2=world.client)
    result = eniops.add_secondary_ips(eni, ips=["10.0.1.40", "10.0.1.41"], ec2=world.client)
    assert world.strict.mutations[-1].params["PrivateIpAddresses"] == ["10.0.1.41"]
    assert {"10.0.1.40", "10.0.1.41"} <= set(ips_of(world, eni))
    world.strict.reset_calls()
    again = eniops.add_secondary_ips(eni, ips=["10.0.1.41"], ec2=world.client)
    assert not again.changed
    assert world.strict.mutations == []
    assert result.changed


@pytest.mark.parametrize(
    ("ip", "reason"),
    [("10.0.2.9", "ip-outside-subnet"), ("10.0.1.1", "ip-reserved"), ("10.0.1.255", "ip-reserved")],
)
def test_add_refusals(world, ip, reason):
    """Outside the subnet or reserved: refused before any change."""
    with pytest.raises(eniops.PreconditionFailed) as caught:
        eniops.add_secondary_ips(world.lab.standby, ips=[ip], ec2=world.client)
    assert caught.value.reason == reason
    assert world.strict.mutations == []


def test_ip_limit(world):
    """t3.large allows 12 IPv4 per interface, the primary included."""
    with pytest.raises(eniops.PreconditionFailed) as caught:
        eniops.add_secondary_ips(world.lab.standby, count=12, ec2=world.client)
    assert caught.value.reason == "ip-limit"
    assert eniops.add_secondary_ips(world.lab.standby, count=11, ec2=world.client).changed


def test_ip_in_use_needs_reassignment(world):
    """Another ENI's IP is a conflict; with allow_reassignment and expect_current it moves."""
    active_ip = "10.0.1.60"
    world.client.assign_private_ip_addresses(
        NetworkInterfaceId=world.primary_eni(world.lab.active), PrivateIpAddresses=[active_ip]
    )
    with pytest.raises(eniops.Conflict) as caught:
        eniops.add_secondary_ips(world.lab.standby, ips=[active_ip], ec2=world.client)
    assert caught.value.reason == "ip-in-use"
    with pytest.raises(eniops.Conflict) as caught:
        eniops.add_secondary_ips(
            world.lab.standby,
            ips=[active_ip],
            allow_reassignment=True,
            expect_current=world.lab.far,
            ec2=world.client,
        )
    assert caught.value.reason == "expect-mismatch"
    result = eniops.add_secondary_ips(
        world.lab.standby,
        ips=[active_ip],
        allow_reassignment=True,
        expect_current=world.lab.active,
        ec2=world.client,
    )
    assert result.changed
    assert active_ip in ips_of(world, world.primary_eni(world.lab.standby))
    assert active_ip not in ips_of(world, world.primary_eni(world.lab.active))


def test_eip_follows_its_reassigned_ip(world):
    """An Elastic IP on a secondary IP moves with it when the IP is reassigned."""
    vip = "10.0.1.70"
    active_eni = world.primary_eni(world.lab.active)
    world.client.assign_private_ip_addresses(
        NetworkInterfaceId=active_eni, PrivateIpAddresses=[vip]
    )
    eniops.remap_eip(world.lab.eip, to_eni=active_eni, private_ip=vip, ec2=world.client)
    eniops.add_secondary_ips(
        world.lab.standby, ips=[vip], allow_reassignment=True, ec2=world.client
    )
    address = world.address()
    assert address["NetworkInterfaceId"] == world.primary_eni(world.lab.standby)
    assert address["PrivateIpAddress"] == vip


def test_assign_is_polled_until_visible(world):
    """EC2 shows new IPs late: the operation polls until they appear."""
    world.strict.hold("AssignPrivateIpAddresses", polls=3)
    result = eniops.add_secondary_ips(world.lab.standby, ips=["10.0.1.80"], ec2=world.client)
    assert result.changed
    assert world.strict.count("DescribeNetworkInterfaces") >= 4


def test_assign_not_visible_in_time_is_a_timeout(world):
    """Never success unverified: an assignment that never shows raises OperationTimeout."""
    world.strict.hold("AssignPrivateIpAddresses", polls=10_000)
    with pytest.raises(eniops.OperationTimeout) as caught:
        eniops.add_secondary_ips(
            world.lab.standby, ips=["10.0.1.81"], timeout=1.5, ec2=world.client
        )
    assert caught.value.details["adding"] == ["10.0.1.81"], caught.value.message


def test_dry_run_plans_and_warns(world):
    """EC2 has no DryRun for assign: dry-run plans and says so."""
    result = eniops.add_secondary_ips(world.lab.standby, count=1, mode="dry-run", ec2=world.client)
    assert world.strict.mutations == []
    assert any("no DryRun" in w for w in result.warnings)


def test_remove(world):
    """Remove drops a secondary IP; absent IPs are a no-op; primary and EIP IPs are refused."""
    eni = world.primary_eni(world.lab.active)
    world.client.assign_private_ip_addresses(
        NetworkInterfaceId=eni, PrivateIpAddresses=["10.0.1.90", "10.0.1.91"]
    )
    world.strict.hold("UnassignPrivateIpAddresses", polls=2)
    assert eniops.remove_secondary_ips(eni, ips=["10.0.1.90"], ec2=world.client).changed
    assert "10.0.1.90" not in ips_of(world, eni)
    assert not eniops.remove_secondary_ips(eni, ips=["10.0.1.90"], ec2=world.client).changed
    primary = world.eni(eni)["PrivateIpAddress"]
    with pytest.raises(eniops.PreconditionFailed) as caught:
        eniops.remove_secondary_ips(eni, ips=[primary], ec2=world.client)
    assert caught.value.reason == "ip-is-primary"
    eniops.remap_eip(world.lab.eip, to_eni=eni, private_ip="10.0.1.91", ec2=world.client)
    with pytest.raises(eniops.PreconditionFailed) as caught:
        eniops.remove_secondary_ips(world.lab.active, ips=["10.0.1.91"], ec2=world.client)
    assert caught.value.reason == "ip-has-eip"


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


RUNS = {
    "remap_eip": lambda w: eniops.remap_eip(w.lab.eip, to_instance=w.lab.standby, ec2=w.client),
    "move_eni": lambda w: eniops.move_eni(
        w.lab.floating_eni, to_instance=w.lab.standby, ec2=w.client
    ),
    "attach_eni": lambda w: (
        eniops.detach_eni(w.lab.floating_eni, ec2=w.client),
        w.strict.reset_calls(),
        eniops.attach_eni(w.lab.floating_eni, instance=w.lab.standby, ec2=w.client),
    ),
    "detach_eni": lambda w: eniops.detach_eni(w.lab.floating_eni, ec2=w.client),
    "add_secondary_ips": lambda w: eniops.add_secondary_ips(
        w.lab.floating_eni, count=1, ec2=w.client
    ),
    "remove_secondary_ips": lambda w: eniops.remove_secondary_ips(
        w.lab.active, ips=["10.0.1.99"], ec2=w.client
    ),
    "failover_instance": lambda w: eniops.failover_instance(
        w.lab.active, to_instance=w.lab.standby, ec2=w.client
    ),
    "move_route": lambda w: eniops.move_route(
        w.lab.overlay, to_instance=w.lab.standby, ec2=w.client
    ),
    "describe": lambda w: [
        eniops.describe(x, ec2=w.client) for x in (w.lab.active, w.lab.floating_eni, w.lab.eip)
    ],
}


@pytest.mark.parametrize("operation", sorted(_registry.BY_NAME))
def test_every_call_is_declared(world, operation):
    """Each operation calls only EC2 actions its IAM permissions declare."""
    RUNS[operation](world)
    called = {f"ec2:{c.operation}" for c in world.strict.calls}
    assert called, "the operation made no call"
    declared = set(_registry.BY_NAME[operation].actions)
    assert called <= declared, called - declared


def test_iam_policy_scopes_changes_by_tag():
    """The generated policy splits reads from changes and scopes changes by the tag."""
    policy = _registry.iam_policy(["eip-remap"], require_tag="team=payments")
    read, change = policy["Statement"]
    assert change["Action"] == ["ec2:AssociateAddress", "ec2:CreateTags", "ec2:DeleteTags"]
    assert change["Condition"] == {"StringEquals": {"aws:ResourceTag/team": "payments"}}
    assert "ec2:AssociateAddress" not in read["Action"]
    with pytest.raises(eniops.InvalidInput):
        _registry.iam_policy(["nope"])


def test_strict_layer_refuses_ip_outside_subnet(world):
    """The raw client meets EC2's IP rules."""
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError, match="not in subnet"):
        world.client.assign_private_ip_addresses(
            NetworkInterfaceId=world.primary_eni(world.lab.standby),
            PrivateIpAddresses=["10.0.2.50"],
        )
    assert isinstance(world.strict, StrictEc2)


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
    assert vip not in ips_of(world, active_eni)


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
