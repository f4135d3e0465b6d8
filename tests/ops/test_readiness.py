"""check_failover on the strict layer: every problem listed at once, by the failover's own
rules; reads in one round trip, DryRuns in one more; nothing in the account ever changes."""

from __future__ import annotations

import pytest
from support import more_enis

import eniops
from eniops._core import _codes
from eniops.testing import MUTATING_OPERATIONS, round_trips


def check(world, **kwargs):
    kwargs.setdefault("to_instance", world.lab.standby)
    return eniops.check_failover(world.lab.active, ec2=world.client, **kwargs)


def applied(world):
    """The mutating calls sent without DryRun=True."""
    return [c for c in world.strict.mutations if c.params.get("DryRun") is not True]


def reasons(readiness):
    return sorted(p.reason for p in readiness.problems)


def test_a_ready_pair_is_ready_with_the_failovers_plan(world):
    """Ready: no problem, the failover's plan (as `mode="plan"` shows it), every call it
    would make sent with DryRun=True and nothing changed."""
    before = world.account()
    world.strict.reset_calls()
    readiness = check(world)
    assert readiness.ready, readiness.problems
    assert readiness.problems == ()
    planned = eniops.failover_instance(
        world.lab.active, to_instance=world.lab.standby, mode="plan", ec2=world.client
    )
    assert readiness.plan is not None
    assert [s.action for s in readiness.plan.steps] == [s.action for s in planned.steps]
    assert [c.operation for c in readiness.plan.children] == [c.operation for c in planned.children]
    assert world.account() == before
    assert applied(world) == []


def test_reads_ride_in_one_round_trip_and_dry_runs_in_one_more(world):
    """The standby's status read rides with the failover's reads; the DryRuns go at once."""
    world.strict.latency_s = 0.02
    eniops.describe(world.lab.standby, ec2=world.client)  # the instance type, cached
    world.strict.reset_calls()
    check(world)
    calls = world.strict.calls
    dry = [c for c in calls if c.params.get("DryRun")]
    reads = [c for c in calls if not c.params.get("DryRun")]
    assert "DescribeInstanceStatus" in [c.operation for c in reads]
    assert round_trips(reads) == 1
    assert round_trips(dry) == 1
    assert round_trips(calls) == 2
    assert {c.operation for c in dry} <= MUTATING_OPERATIONS
    assert {c.operation for c in dry} >= {"AssociateAddress", "DetachNetworkInterface"}
    assert all(c.params["DryRun"] is True for c in calls if c.operation in MUTATING_OPERATIONS)


def _stopped(world):
    world.client.stop_instances(InstanceIds=[world.lab.standby])
    return {}


def _impaired(world):
    def impaired(parsed, **_):
        for status in parsed.get("InstanceStatuses", []):
            if status["InstanceId"] == world.lab.standby:
                status["SystemStatus"] = {"Status": "impaired", "Details": []}

    world.client.meta.events.register("after-call.ec2.DescribeInstanceStatus", impaired)
    return {}


def _unauthorized(world):
    world.strict.inject(
        "AssociateAddress",
        _codes.UNAUTHORIZED_OPERATION,
        times=10,
        when=lambda params: bool(params.get("DryRun")),
    )
    return {}


def _untagged(world):
    return {"require_tag": "eniops:lab=true"}


def _nothing_to_move(world):
    return {"to_instance": world.lab.active, "from_instance": world.lab.standby}


def _other_az(world):
    return {"to_instance": world.lab.far}


@pytest.mark.parametrize(
    ("setup", "expected", "resource"),
    [
        (_stopped, ["standby-not-running"], "standby"),
        (_impaired, ["standby-impaired"], "standby"),
        (_unauthorized, ["permission-denied"], "eip"),
        (_other_az, ["az-mismatch"], "floating_eni"),
        (_nothing_to_move, ["not-found"], "standby"),
    ],
    ids=["stopped", "impaired", "unauthorized", "other-az", "nothing-to-move"],
)
def test_each_problem_is_named_with_its_resource(world, setup, expected, resource):
    """Each readiness reason, and a failover precondition, as a problem on its resource."""
    kwargs = setup(world)
    source = kwargs.pop("from_instance", world.lab.active)
    before = world.account()
    readiness = eniops.check_failover(
        source, **{"to_instance": world.lab.standby, **kwargs}, ec2=world.client
    )
    assert not readiness.ready
    assert reasons(readiness) == expected
    named = {"standby": world.lab.standby, "floating_eni": world.lab.floating_eni}
    named["eip"] = world.lab.eip
    assert readiness.problems[0].resource == named[resource]
    if resource == "eip":
        assert "ec2:AssociateAddress" in readiness.problems[0].message
    assert world.account() == before
    assert applied(world) == []


def test_every_problem_is_listed_not_only_the_first(world):
    """A stopped standby with too few ENI slots, a refused permission and a tag guard: all
    four listed, each with its reason; the failover itself refuses at the first."""
    more_enis(world, 1, on=world.lab.active)  # two to move
    more_enis(world, 1, on=world.lab.standby)  # one free slot left on the t3.large
    _stopped(world)
    _unauthorized(world)
    with world.strict.internal() as client:
        client.delete_tags(Resources=[world.lab.standby], Tags=[{"Key": "eniops:lab"}])
    before = world.account()
    readiness = check(world, require_tag="eniops:lab=true")
    assert reasons(readiness) == [
        "attachment-limit",
        "permission-denied",
        "standby-not-running",
        "tag-guard",
    ]
    assert {p.resource for p in readiness.problems if p.reason == "tag-guard"} == {
        world.lab.standby
    }
    assert readiness.plan is None  # the failover would refuse: no plan to show
    with pytest.raises(eniops.PreconditionFailed):
        eniops.failover_instance(
            world.lab.active,
            to_instance=world.lab.standby,
            require_tag="eniops:lab=true",
            mode="plan",
            ec2=world.client,
        )
    assert world.account() == before


def test_a_refused_delete_on_termination_restore_is_a_problem(world):
    """The floating ENI's attachment deletes it on termination, so the failover would restore
    that on the standby: the restore is sent with DryRun=True against the ENI's current
    attachment, and IAM refusing ModifyNetworkInterfaceAttribute is a permission-denied
    problem (the failover would otherwise stop halfway, the ENI moved but not whole)."""
    attachment = world.eni(world.lab.floating_eni)["Attachment"]["AttachmentId"]
    world.client.modify_network_interface_attribute(
        NetworkInterfaceId=world.lab.floating_eni,
        Attachment={"AttachmentId": attachment, "DeleteOnTermination": True},
    )
    world.strict.inject(
        "ModifyNetworkInterfaceAttribute",
        _codes.UNAUTHORIZED_OPERATION,
        when=lambda params: bool(params.get("DryRun")),
    )
    world.strict.reset_calls()
    readiness = check(world)
    assert not readiness.ready
    (problem,) = readiness.problems
    assert (problem.reason, problem.resource) == ("permission-denied", world.lab.floating_eni)
    assert "ec2:ModifyNetworkInterfaceAttribute" in problem.message
    (sent,) = [c for c in world.strict.calls if c.operation == "ModifyNetworkInterfaceAttribute"]
    assert sent.params["DryRun"] is True
    assert sent.params["Attachment"]["AttachmentId"] == attachment
    assert applied(world) == []


@pytest.mark.parametrize("verdict", ["initializing", "insufficient-data"])
def test_a_standby_whose_checks_have_no_verdict_is_ready_with_a_warning(world, verdict):
    """Status checks still initializing (or without data): ready, not silently."""

    def unsettled(parsed, **_):
        for status in parsed.get("InstanceStatuses", []):
            if status["InstanceId"] == world.lab.standby:
                status["InstanceStatus"] = {"Status": verdict, "Details": []}

    world.client.meta.events.register("after-call.ec2.DescribeInstanceStatus", unsettled)
    readiness = check(world)
    assert readiness.ready, readiness.problems
    assert any(world.lab.standby in w and verdict in w for w in readiness.warnings)


def _floating_ip(world):
    eni = world.primary_eni(world.lab.active)
    world.client.assign_private_ip_addresses(
        NetworkInterfaceId=eni, PrivateIpAddresses=["10.0.1.77"]
    )
    return eni


def test_calls_without_dry_run_are_asked_of_iams_policy_simulator(world):
    """A floating IP's assignment has no DryRun in EC2: IAM's policy simulator is asked for
    the caller's own principal, the action and the ENI; allowed, the pair is ready."""
    _floating_ip(world)
    standby = world.primary_eni(world.lab.standby)
    readiness = check(world, ips=["10.0.1.77"])
    assert readiness.ready, readiness.problems
    assert not any("AssignPrivateIpAddresses" in w for w in readiness.warnings)
    (asked,) = world.strict.iam.asked
    assert asked["ActionNames"] == ["ec2:AssignPrivateIpAddresses"]
    assert asked["ResourceArns"] == [
        f"arn:aws:ec2:us-east-1:123456789012:network-interface/{standby}"
    ]
    assert asked["PolicySourceArn"] == "arn:aws:iam::123456789012:user/moto"


def test_a_denial_by_iams_policy_simulator_is_a_problem(world):
    """IAM would refuse the assignment a failover makes (it has no DryRun): permission-denied,
    on the ENI, naming the action; nothing changes."""
    _floating_ip(world)
    world.strict.iam.denied.add("ec2:AssignPrivateIpAddresses")
    before = world.account()
    readiness = check(world, ips=["10.0.1.77"])
    assert not readiness.ready
    (problem,) = readiness.problems
    assert problem.reason == "permission-denied"
    assert problem.resource == world.primary_eni(world.lab.standby)
    assert "ec2:AssignPrivateIpAddresses" in problem.message
    assert world.account() == before


def test_without_the_simulator_the_calls_are_warnings(world):
    """The caller may not use IAM's policy simulator: each call EC2 offers no DryRun for is
    named in the warnings (not checked), and the pair is ready."""
    _floating_ip(world)
    world.strict.iam.usable = False
    readiness = check(world, ips=["10.0.1.77"])
    assert readiness.ready, readiness.problems
    (warning,) = [w for w in readiness.warnings if "AssignPrivateIpAddresses" in w]
    assert "policy simulator could not be used" in warning


def test_mode_is_not_a_keyword_of_check_failover(world):
    """It never changes anything: `mode` is refused as Python refuses an unknown keyword."""
    with pytest.raises(TypeError, match="mode"):
        check(world, mode="apply")
    assert world.strict.calls == []


def test_to_dict_keys_are_the_field_names(world):
    data = check(world).to_dict()
    assert set(data) == {"ready", "problems", "warnings", "plan", "elapsed_s"}
    assert data["ready"] is True
    assert (data["plan"]["operation"], data["plan"]["mode"]) == ("failover_instance", "plan")


def test_an_instance_that_does_not_exist_is_a_problem(world):
    readiness = eniops.check_failover(
        "i-0123456789abcdef0", to_instance=world.lab.standby, ec2=world.client
    )
    assert [(p.reason, p.resource) for p in readiness.problems] == [
        ("not-found", "i-0123456789abcdef0")
    ]
    assert readiness.plan is None
    assert not readiness.ready
