"""remap_eip on the strict layer: checks, modes, retries, call counts."""

from __future__ import annotations

import threading
import time

import pytest

import eniops
from eniops._core import _codes
from eniops.testing import dual_stack, round_trips


def remap(world, **kw):
    kw.setdefault("to_instance", world.lab.standby)
    return eniops.remap_eip(world.lab.eip, ec2=world.client, **kw)


def test_failover_to_instance_moves_the_address(world):
    """The address ends on the standby's primary ENI and primary IP, verified."""
    result = remap(world, expect_current=world.lab.active)
    standby_eni = world.primary_eni(world.lab.standby)
    address = world.address()
    assert result.changed
    assert address["NetworkInterfaceId"] == standby_eni
    assert address["InstanceId"] == world.lab.standby
    assert result.after["address"]["eni"] == standby_eni
    assert result.before["address"]["instance"] == world.lab.active


def test_two_round_trips_before_the_change_associate_by_eni(world):
    """Reads at once, one AssociateAddress by NetworkInterfaceId with the flag sent, then
    its verification (the confirmation read, made `confirm_after_s` after the answer) with
    the holder tag riding beside it: five calls, three round trips."""
    world.strict.latency_s = 0.02
    remap(world, expect_current=world.lab.active)
    ops = world.strict.operations()
    assert sorted(ops[:2]) == ["DescribeAddresses", "DescribeInstances"]
    assert ops[2] == "AssociateAddress"
    assert sorted(ops[3:]) == ["CreateTags", "DescribeAddresses"]
    assert round_trips(world.strict.calls) == 3
    associate, holder = world.strict.mutations
    assert "InstanceId" not in associate.params
    assert associate.params["NetworkInterfaceId"] == world.primary_eni(world.lab.standby)
    assert associate.params["AllowReassociation"] is True
    where = f"{world.lab.standby} ip={world.address()['PrivateIpAddress']}"
    assert holder.params == {
        "Resources": [world.lab.eip],
        "Tags": [{"Key": "eniops:holder", "Value": where}],
    }
    assert "DisassociateAddress" not in ops


def test_independent_reads_run_concurrently(world):
    """The address and target reads are in flight together: 3 round trips, not 4."""
    barrier = threading.Barrier(2, timeout=5)
    met: list[str] = []

    def rendezvous(model, **_):
        if model.name in ("DescribeAddresses", "DescribeInstances") and len(met) < 2:
            met.append(model.name)
            barrier.wait()  # breaks (and fails the remap) unless both reads are in flight

    world.client.meta.events.register_first("before-call.ec2", rendezvous)
    assert remap(world).changed
    assert sorted(met) == ["DescribeAddresses", "DescribeInstances"]


def test_to_eni_and_by_public_ip(world):
    """An ENI target and a public-IP name work the same way."""
    eni = world.primary_eni(world.lab.standby)
    result = eniops.remap_eip(world.lab.public_ip, to_eni=eni, ec2=world.client)
    assert result.changed
    assert world.address()["NetworkInterfaceId"] == eni


def test_multi_eni_source_and_target(world):
    """The active instance has two ENIs: remapping back to it still uses its primary ENI."""
    remap(world)
    result = eniops.remap_eip(world.lab.eip, to_instance=world.lab.active, ec2=world.client)
    assert result.changed
    assert world.address()["NetworkInterfaceId"] == world.primary_eni(world.lab.active)


def test_strict_layer_refuses_association_by_instance_id_with_several_enis(world):
    """What eniops avoids: EC2 refuses InstanceId on an instance with two ENIs."""
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError, match=_codes.INVALID_INSTANCE_ID):
        world.client.associate_address(AllocationId=world.lab.eip, InstanceId=world.lab.active)


def test_already_in_place_is_a_no_op(world):
    """Same ENI and private IP: changed=False and no mutating call."""
    result = eniops.remap_eip(world.lab.eip, to_instance=world.lab.active, ec2=world.client)
    assert not result.changed
    assert result.steps == ()
    assert world.strict.mutations == []


def test_second_run_is_a_no_op_even_with_expect_current(world):
    """A re-run of a finished failover changes nothing and does not fail its guard."""
    remap(world, expect_current=world.lab.active)
    world.strict.reset_calls()
    result = remap(world, expect_current=world.lab.active)
    assert not result.changed
    assert world.strict.mutations == []


def test_plan_makes_no_mutating_call(world):
    """plan reads and checks, and lists the calls it would make: the AssociateAddress and
    the holder tag beside its check."""
    result = remap(world, mode="plan")
    assert not result.changed
    assert [(s.action, s.status) for s in result.steps] == [
        ("ec2:AssociateAddress", "planned"),
        ("ec2:CreateTags", "planned"),
    ]
    assert world.strict.mutations == []
    assert world.address()["InstanceId"] == world.lab.active


def test_dry_run_asks_ec2_with_dry_run(world):
    """dry-run sends AssociateAddress (and the holder tag) with DryRun=True; nothing changes."""
    result = remap(world, mode="dry-run")
    assert [(c.operation, c.dry_run) for c in world.strict.mutations] == [
        ("AssociateAddress", True),
        ("CreateTags", True),
    ]
    assert result.steps[0].status == "planned"
    assert not result.changed
    assert world.address()["InstanceId"] == world.lab.active


def test_dry_run_permission_denied(world):
    """UnauthorizedOperation on the dry run raises PermissionDenied."""
    world.strict.inject("AssociateAddress", _codes.UNAUTHORIZED_OPERATION)
    with pytest.raises(eniops.PermissionDenied):
        remap(world, mode="dry-run")


def test_expect_current_mismatch_changes_nothing(world):
    """A wrong holder raises Conflict(expect-mismatch) before any change."""
    with pytest.raises(eniops.Conflict) as caught:
        remap(world, expect_current=world.lab.far)
    assert caught.value.reason == "expect-mismatch"
    assert world.strict.mutations == []


def test_expect_eni_id_as_holder(world):
    """expect_current may name the ENI that holds the address."""
    result = remap(world, expect_current=world.primary_eni(world.lab.active))
    assert result.changed


def test_unassociated_guard_sends_allow_reassociation_false(world):
    """With UNASSOCIATED and a free address, AllowReassociation=False is sent."""
    world.client.disassociate_address(AssociationId=world.address()["AssociationId"])
    world.strict.reset_calls()
    result = remap(world, expect_current=eniops.UNASSOCIATED)
    assert result.changed
    assert world.strict.mutations[0].params["AllowReassociation"] is False


def test_unassociated_guard_refuses_a_taken_address(world):
    """UNASSOCIATED with a held address is a conflict, caught before any call."""
    with pytest.raises(eniops.Conflict):
        remap(world, expect_current=eniops.UNASSOCIATED)
    assert world.strict.mutations == []


def test_race_lost_to_another_holder_is_a_conflict(world):
    """Free at read, taken before the call: EC2's Resource.AlreadyAssociated is a Conflict."""
    world.client.disassociate_address(AssociationId=world.address()["AssociationId"])
    world.strict.inject("AssociateAddress", _codes.RESOURCE_ALREADY_ASSOCIATED)
    with pytest.raises(eniops.Conflict) as caught:
        remap(world, expect_current=eniops.UNASSOCIATED)
    assert caught.value.reason == "expect-mismatch"
    assert world.strict.count("AssociateAddress") == 1


@pytest.mark.parametrize(
    ("eip", "target", "missing"),
    [
        ("eipalloc-0123456789abcdef0", None, "eip"),
        ("198.51.100.1", None, "eip"),
        (None, "i-0123456789abcdef0", "instance"),
    ],
    ids=["allocation", "public-ip", "instance"],
)
def test_not_found(world, eip, target, missing):
    """A missing address or target raises NotFound(not-found) and changes nothing."""
    with pytest.raises(eniops.NotFound) as caught:
        eniops.remap_eip(
            eip or world.lab.eip, to_instance=target or world.lab.standby, ec2=world.client
        )
    assert caught.value.reason == "not-found"
    assert world.strict.mutations == []


def test_missing_eni_target(world):
    """A missing ENI target raises NotFound."""
    with pytest.raises(eniops.NotFound):
        eniops.remap_eip(world.lab.eip, to_eni="eni-0123456789abcdef0", ec2=world.client)


def test_private_ip_not_on_eni(world):
    """A private_ip the target ENI does not have is refused."""
    with pytest.raises(eniops.PreconditionFailed) as caught:
        remap(world, private_ip="10.0.1.200")
    assert caught.value.reason == "private-ip-not-on-eni"
    assert world.strict.mutations == []


def test_to_a_secondary_private_ip(world):
    """An EIP can land on a secondary IP; the strict layer shows that IP."""
    eni = world.primary_eni(world.lab.standby)
    world.client.assign_private_ip_addresses(
        NetworkInterfaceId=eni, PrivateIpAddresses=["10.0.1.50"]
    )
    result = remap(world, private_ip="10.0.1.50")
    assert result.after["address"]["private_ip"] == "10.0.1.50"
    assert world.address()["PrivateIpAddress"] == "10.0.1.50"
    again = remap(world, private_ip="10.0.1.50")
    assert not again.changed


def test_tag_guard(world):
    """require_tag refuses an untagged address; a matching tag passes."""
    with pytest.raises(eniops.PreconditionFailed) as caught:
        remap(world, require_tag="team=payments")
    assert caught.value.reason == "tag-guard"
    assert remap(world, require_tag="eniops:lab=true").changed


def test_terminated_target_is_refused(world):
    """A terminated standby is not a usable target (instance-state)."""
    world.client.terminate_instances(InstanceIds=[world.lab.standby])
    with pytest.raises(eniops.PreconditionFailed) as caught:
        remap(world)
    assert caught.value.reason == "instance-state"


def test_stopped_target_is_usable(world):
    """An EIP may be associated with a stopped instance's primary ENI."""
    world.client.stop_instances(InstanceIds=[world.lab.standby])
    assert remap(world).changed


def test_throttling_then_success(world):
    """RequestLimitExceeded twice, then success: three AssociateAddress calls, one change."""
    world.strict.inject("AssociateAddress", _codes.REQUEST_LIMIT_EXCEEDED, times=2)
    result = remap(world)
    assert result.changed
    assert world.strict.count("AssociateAddress") == 3


def test_server_error_on_reads_is_retried(world):
    """A 5xx on the first read is retried."""
    world.strict.inject("DescribeInstances", _codes.INTERNAL_ERROR, times=1)
    assert remap(world).changed
    assert world.strict.count("DescribeInstances") == 2


def test_permanent_throttling_ends_typed_within_deadline(world_real_waits):
    """Throttling that never ends raises a typed error before the deadline."""
    world = world_real_waits
    world.strict.inject("AssociateAddress", _codes.REQUEST_LIMIT_EXCEEDED, times=1000)
    started = time.monotonic()
    with pytest.raises((eniops.OperationTimeout, eniops.AwsError)) as caught:
        remap(world, timeout=1.5)
    # The deadline stops the retries before a sleep that would overrun it; the slack is for
    # the last call's own duration on a loaded machine, not a speed claim.
    assert time.monotonic() - started < 1.5 + 1.0
    assert 2 <= world.strict.count("AssociateAddress") <= 8
    assert "RequestLimitExceeded" in str(caught.value.to_dict())
    assert world.address()["InstanceId"] == world.lab.active


def test_unauthorized_is_not_retried(world):
    """UnauthorizedOperation raises PermissionDenied after exactly one call."""
    world.strict.inject("AssociateAddress", _codes.UNAUTHORIZED_OPERATION, times=5)
    with pytest.raises(eniops.PermissionDenied) as caught:
        remap(world)
    assert caught.value.code == "UnauthorizedOperation"
    assert world.strict.count("AssociateAddress") == 1


@pytest.mark.parametrize("code", [_codes.INVALID_PARAMETER_VALUE, _codes.OPERATION_NOT_PERMITTED])
def test_refusals_are_not_retried(world, code):
    """Refusals that retrying cannot help are raised as AwsError after one call."""
    world.strict.inject("AssociateAddress", code, times=5)
    with pytest.raises(eniops.AwsError) as caught:
        remap(world)
    assert caught.value.code == code
    assert world.strict.count("AssociateAddress") == 1


def test_lost_response_reads_the_real_state(world):
    """EC2 did it but every answer was an error: the state is read and the remap succeeds."""
    world.strict.inject("AssociateAddress", _codes.INTERNAL_ERROR, after_success=True, times=99)
    result = remap(world)
    assert result.changed
    assert world.address()["InstanceId"] == world.lab.standby
    assert any("change is in place" in w for w in result.warnings)


def test_lost_response_is_read_not_repeated(world):
    """A 5xx whose call had in fact succeeded: the address is read, not associated again."""
    world.strict.inject("AssociateAddress", _codes.INTERNAL_ERROR, after_success=True, times=1)
    result = remap(world)
    assert result.changed
    assert world.strict.count("AssociateAddress") == 1
    assert world.address()["InstanceId"] == world.lab.standby
    assert any("change is in place" in w for w in result.warnings)


def test_lost_answer_of_a_change_not_made_is_sent_again(world):
    """A 5xx before the change reached EC2: the read shows it absent, so it is sent again."""
    world.strict.inject("AssociateAddress", _codes.INTERNAL_ERROR, times=1)
    assert remap(world).changed
    assert world.strict.count("AssociateAddress") == 2
    assert world.address()["InstanceId"] == world.lab.standby


def test_eventual_consistency_not_found_is_re_read(world):
    """An address just allocated: missing from the list, NotFound by id once, then found."""
    hidden = []

    def not_listed_yet(parsed, context, **_):
        if not context.get("strict_params") and not hidden:
            hidden.append(True)
            parsed["Addresses"] = [
                a for a in parsed["Addresses"] if a["AllocationId"] != world.lab.eip
            ]

    world.client.meta.events.register("after-call.ec2.DescribeAddresses", not_listed_yet)
    world.strict.inject(
        "DescribeAddresses",
        _codes.INVALID_ALLOCATION_ID_NOT_FOUND,
        when=lambda params: "AllocationIds" in params,
    )
    assert remap(world).changed
    by_id = [c for c in world.strict.calls if "AllocationIds" in c.params]
    assert len(by_id) == 2


def test_missing_address_is_not_found_well_under_a_second(world_real_waits):
    """A name that never appears is NotFound after brief re-reads, not after the deadline."""
    world = world_real_waits
    started = time.monotonic()
    with pytest.raises(eniops.NotFound):
        eniops.remap_eip(
            "eipalloc-0123456789abcdef0", to_instance=world.lab.standby, ec2=world.client
        )
    assert time.monotonic() - started < 1.5  # the re-read window is 0.6 s; slack for load
    assert world.strict.count("DescribeAddresses") >= 3


def test_target_has_eip_is_refused(world):
    """The standby's primary IP carries its own Elastic IP: refused, nothing changed."""
    own = world.own_eip_on(world.lab.standby)
    world.strict.reset_calls()
    with pytest.raises(eniops.PreconditionFailed) as caught:
        remap(world, expect_current=world.lab.active)
    assert caught.value.reason == "target-has-eip"
    assert caught.value.details["displaced"]["allocation_id"] == own
    assert world.strict.mutations == []


def test_replace_eip_names_the_displaced_address(world):
    """replace_eip takes the IP; the displaced address is in before and warnings."""
    own = world.own_eip_on(world.lab.standby)
    result = remap(world, expect_current=world.lab.active, replace_eip=True)
    assert result.changed
    assert result.before["displaced"]["allocation_id"] == own
    assert any("disassociated" in w for w in result.warnings)
    with world.strict.internal() as client:
        displaced = client.describe_addresses(AllocationIds=[own])["Addresses"][0]
    assert "AssociationId" not in displaced  # EC2 took it off, as the strict layer plays


def test_warns_when_taking_without_guard(world):
    """Taking a held address without expect_current is done, with a warning."""
    result = remap(world)
    assert any("without expect_current" in w for w in result.warnings)
    assert not remap(world, to_instance=world.lab.active, expect_current=world.lab.standby).warnings


def test_session_and_region_build_a_client(world, monkeypatch):
    """With no client given, one is built from the session and region (under moto here)."""
    import boto3

    result = eniops.remap_eip(
        world.lab.eip,
        to_instance=world.lab.standby,
        session=boto3.session.Session(),
        region="us-east-1",
    )
    assert result.changed


def test_describe_shows_limits_and_free_slots(world):
    """describe(instance) lists ENIs, EIPs, limits and free slots; ENI and EIP work too."""
    view = eniops.describe(world.lab.active, ec2=world.client)
    assert view["limits"] == {
        "max_enis": 3,
        "max_enis_card_0": 3,
        "ipv4_per_eni": 12,
        "ipv6_per_eni": 12,
    }
    assert view["free"] == {"eni_slots": 1, "device_indexes": [2]}
    assert [e["device_index"] for e in view["enis"]] == [0, 1]
    assert view["enis"][0]["elastic_ips"][0]["public_ip"] == world.lab.public_ip
    assert eniops.describe(world.lab.floating_eni, ec2=world.client)["instance"] == (
        world.lab.active
    )
    assert eniops.describe(world.lab.public_ip, ec2=world.client)["instance"] == world.lab.active


def test_describe_shows_ipv6_addresses_and_slots(world):
    """A dual-stack ENI: its IPv6 addresses (none primary on moto) and free IPv6 slots."""
    with world.strict.internal() as client:
        dual_stack(client, world.lab)
        eni = world.primary_eni(world.lab.active)
        assigned = client.assign_ipv6_addresses(NetworkInterfaceId=eni, Ipv6AddressCount=2)
    view = eniops.describe(world.lab.active, ec2=world.client)
    (line,) = [e for e in view["enis"] if e["eni"] == eni]
    assert line["ipv6_addresses"] == [
        {"address": ip, "primary": False} for ip in assigned["AssignedIpv6Addresses"]
    ]
    assert line["free_ipv6_slots"] == 10
    other = [e for e in view["enis"] if e["eni"] != eni]
    assert all(e["ipv6_addresses"] == [] for e in other)
