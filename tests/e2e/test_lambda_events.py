"""The Lambda's other events: Auto Scaling lifecycle actions (completed whatever happens),
readiness events that change nothing, the scheduled check of every pair, and two
invocations for one instance at once (in threads and in processes)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

import boto3
import pytest
from cli_process import strict_env
from conftest import LEASE_TABLE, FakeContext
from test_lambda import event, lines, metrics

from eniops import aws_lambda
from eniops.aws_lambda import _config
from eniops.testing import (
    MOTO_IMAGE_ID,
    add_instances,
    add_zone_pairs,
    build_lab,
    create_lease_table,
    put_alarm,
)

GROUP, HOOK = "web", "eniops-attach"


def _group(world, *, enis=(), eips=(), hook_transition="autoscaling:EC2_INSTANCE_LAUNCHING"):
    """An Auto Scaling group of one in the lab's subnet, its lifecycle hook and eniops' tags;
    the instance it launched."""
    autoscaling = world.clients["autoscaling"]
    with world.strict.internal() as ec2:
        ec2.create_launch_template(
            LaunchTemplateName="web",
            LaunchTemplateData={"ImageId": MOTO_IMAGE_ID, "InstanceType": "t3.large"},
        )
    tags = [("eniops:enis", " ".join(enis)), ("eniops:eips", " ".join(eips))]
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName=GROUP,
        LaunchTemplate={"LaunchTemplateName": "web"},
        MinSize=1,
        MaxSize=2,
        DesiredCapacity=1,
        VPCZoneIdentifier=world.lab.subnet_a,
        Tags=[
            {"Key": k, "Value": v, "PropagateAtLaunch": False, "ResourceId": GROUP}
            for k, v in tags
            if v
        ],
    )
    autoscaling.put_lifecycle_hook(
        AutoScalingGroupName=GROUP, LifecycleHookName=HOOK, LifecycleTransition=hook_transition
    )
    group = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[GROUP])
    return group["AutoScalingGroups"][0]["Instances"][0]["InstanceId"]


def _member(world, instance):
    """`instance` joins the group (Auto Scaling tags it `aws:autoscaling:groupName`)."""
    world.clients["autoscaling"].attach_instances(
        AutoScalingGroupName=GROUP, InstanceIds=[instance]
    )


def test_a_launch_takes_the_groups_eni_and_address_from_a_stopped_member(lam, capsys):
    """The replaced member is stopped: its ENI and Elastic IP go to the new instance, then
    the lifecycle action is completed with CONTINUE."""
    new = _group(lam, enis=[lam.lab.floating_eni], eips=[lam.lab.eip])
    _member(lam, lam.lab.active)
    lam.client.stop_instances(InstanceIds=[lam.lab.active])
    launched = event("autoscaling-launch-lifecycle-action", new, group=GROUP, hook=HOOK)
    result = aws_lambda.handler(launched, FakeContext())
    assert result["ok"] is True
    assert result["attached"] == [lam.lab.floating_eni, lam.lab.eip]
    assert lam.eni(lam.lab.floating_eni)["Attachment"]["InstanceId"] == new
    assert lam.address()["InstanceId"] == new
    (done,) = lam.autoscaling.completed
    assert (done.group, done.hook, done.result, done.instance) == (GROUP, HOOK, "CONTINUE", new)
    assert done.token == launched["detail"]["LifecycleActionToken"]
    (line,), _ = lines(capsys)
    assert (line["level"], line["outcome"], line["lifecycle_result"]) == (
        "INFO",
        "changed",
        "CONTINUE",
    )


@pytest.mark.parametrize(
    ("member", "stopped", "why"),
    [
        (True, False, "which is running"),
        (False, True, "which is not a member of group web"),
        (False, False, "which is not a member of group web"),
    ],
    ids=["running-member", "stopped-stranger", "running-stranger"],
)
def test_a_launch_abandons_before_any_change_unless_a_leaving_member_holds_them(
    lam, capsys, member, stopped, why
):
    """The group's tags name an ENI and an address that a running member holds, or that
    any instance of no group holds, stopped or not (a stopped instance is not the group's to
    take from): the launch is abandoned with why, before any change."""
    new = _group(lam, enis=[lam.lab.floating_eni], eips=[lam.lab.eip])
    if member:
        _member(lam, lam.lab.active)
    if stopped:
        lam.client.stop_instances(InstanceIds=[lam.lab.active])
    before = lam.account()
    lam.strict.reset_calls()
    launched = event("autoscaling-launch-lifecycle-action", new, group=GROUP, hook=HOOK)
    result = aws_lambda.handler(launched, FakeContext())
    assert result["ok"] is False
    assert why in result["error"]["message"]
    assert lam.strict.mutations == []
    assert lam.account() == before
    ((done),) = lam.autoscaling.completed
    assert done.result == "ABANDON"
    logs, found = lines(capsys)
    assert [(line["level"], line["outcome"]) for line in logs] == [("ERROR", "abandoned")]
    assert [n for n, _, _ in metrics(found)] == ["FailoverRefused"]


def test_a_launch_attaches_a_free_eni(lam):
    new = _group(lam, enis=[lam.lab.floating_eni])
    with lam.strict.internal() as client:
        attachment = lam.eni(lam.lab.floating_eni)["Attachment"]["AttachmentId"]
        client.detach_network_interface(AttachmentId=attachment)
    launched = event("autoscaling-launch-lifecycle-action", new, group=GROUP, hook=HOOK)
    assert aws_lambda.handler(launched, FakeContext())["attached"] == [lam.lab.floating_eni]
    assert lam.eni(lam.lab.floating_eni)["Attachment"]["InstanceId"] == new
    assert [d.result for d in lam.autoscaling.completed] == ["CONTINUE"]


def test_a_terminating_member_fails_over_first_then_continues(lam):
    _group(lam, hook_transition="autoscaling:EC2_INSTANCE_TERMINATING")
    ending = event("autoscaling-terminate-lifecycle-action", lam.lab.active, group=GROUP, hook=HOOK)
    result = aws_lambda.handler(ending, FakeContext())
    assert (result["ok"], result["changed"]) == (True, True)
    assert lam.address()["InstanceId"] == lam.lab.standby
    assert [(d.result, d.instance) for d in lam.autoscaling.completed] == [
        ("CONTINUE", lam.lab.active)
    ]


def test_a_terminating_member_without_a_standby_still_continues(lam):
    _group(lam, hook_transition="autoscaling:EC2_INSTANCE_TERMINATING")
    ending = event("autoscaling-terminate-lifecycle-action", lam.lab.far, group=GROUP, hook=HOOK)
    result = aws_lambda.handler(ending, FakeContext())
    assert "no standby" in result["ignored"]
    assert lam.strict.mutations == []
    assert [d.result for d in lam.autoscaling.completed] == ["CONTINUE"]


@pytest.mark.parametrize("name", ["ec2-rebalance-recommendation", "health-scheduled-retirement"])
def test_a_warning_of_a_failure_to_come_checks_readiness_only(lam, name, capsys):
    before = lam.account()
    result = aws_lambda.handler(event(name, lam.lab.active), FakeContext())
    assert (result["ok"], result["ready"], result["problems"]) == (True, True, [])
    assert result["plan"]["operation"] == "failover_instance"
    assert lam.account() == before
    assert [c for c in lam.strict.mutations if not c.params.get("DryRun")] == []
    (line,), found = lines(capsys)
    assert (line["level"], line["outcome"]) == ("INFO", "ready")
    assert metrics(found) == [("PairNotReady", lam.lab.active, 0.0)]


def test_the_scheduled_check_covers_every_pair_and_counts_the_unready(lam, monkeypatch, capsys):
    lam.client.stop_instances(InstanceIds=[lam.lab.standby])
    result = aws_lambda.handler(event("scheduled-event", lam.lab.active), FakeContext())
    (pair,) = result["pairs"]
    assert [p["reason"] for p in pair["problems"]] == ["standby-not-running"]
    (line,), found = lines(capsys)
    assert (line["level"], line["outcome"]) == ("WARNING", "not-ready")
    assert metrics(found) == [("PairNotReady", lam.lab.active, 1.0)]
    pairs = {lam.lab.active: lam.lab.standby, lam.lab.standby: lam.lab.active}
    monkeypatch.setenv(aws_lambda.STANDBY_ENV, json.dumps(pairs))
    both = aws_lambda.handler(event("scheduled-event", lam.lab.active), FakeContext())
    assert len(both["pairs"]) == 2


def test_two_invocations_at_once_move_once_and_count_once(lam, capsys):
    """A stopping and a stopped event handled at the same moment: the lease lets one move;
    the other waits, then finds nothing left to move. One Failovers count."""
    lam.client.stop_instances(InstanceIds=[lam.lab.active])
    lam.strict.latency_s = 0.02
    leases: list[str] = []
    lam.clients["dynamodb"].meta.events.register(
        "before-call", lambda model, **_: leases.append(model.name)
    )
    events = [
        event(n, lam.lab.active) for n in ("ec2-state-change-stopping", "ec2-state-change-stopped")
    ]
    answers: list[dict] = []
    start = threading.Barrier(len(events))

    def invoke(one):
        start.wait()
        answers.append(aws_lambda.handler(one, FakeContext()))

    threads = [threading.Thread(target=invoke, args=(e,)) for e in events]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(a["changed"] for a in answers) == [False, True]
    assert leases.count("PutItem") >= 2  # both asked; one waited (GetItem) until released
    assert "GetItem" in leases
    assert lam.strict.count("AssociateAddress") == 1
    assert lam.strict.count("AttachNetworkInterface") == 1
    _, found = lines(capsys)
    assert [n for n, _, _ in metrics(found)].count("Failovers") == 1


def test_two_processes_at_once_move_once(server):
    """Two Lambda execution environments (processes) on one moto server with the lease
    table: one moves, the other finds nothing left to move."""
    client = boto3.client("ec2", region_name="us-east-1", endpoint_url=server)
    lab = build_lab(client)
    client.create_tags(
        Resources=[lab.active], Tags=[{"Key": aws_lambda.STANDBY_TAG, "Value": lab.standby}]
    )
    client.stop_instances(InstanceIds=[lab.active])
    table = f"{LEASE_TABLE}-{lab.vpc_id}"
    create_lease_table(
        boto3.client("dynamodb", region_name="us-east-1", endpoint_url=server), table
    )
    code = (
        "import json, sys, time; from eniops import aws_lambda;"
        "start = float(sys.argv[2]); time.sleep(max(0, start - time.time()));"
        "event = aws_lambda.sample_event(sys.argv[1], sys.argv[3]);"
        "print(json.dumps(aws_lambda.handler(event, None)))"
    )
    env = strict_env(
        {"AWS_ENDPOINT_URL": server, _config.LEASE_TABLE_ENV: table, "ENIOPS_TEST_FAULTS": "{}"}
    )
    env.pop(aws_lambda.STANDBY_ENV, None)
    start = str(__import__("time").time() + 2.0)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, name, start, lab.active],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for name in ("ec2-state-change-stopping", "ec2-state-change-stopped")
    ]
    answers = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        answers.append(json.loads(out.strip().splitlines()[-1]))
    assert sorted(a["changed"] for a in answers) == [False, True], answers
    address = client.describe_addresses(AllocationIds=[lab.eip])["Addresses"][0]
    standby = client.describe_instances(InstanceIds=[lab.standby])["Reservations"][0]
    primary = standby["Instances"][0]["NetworkInterfaces"][0]["NetworkInterfaceId"]
    assert address["NetworkInterfaceId"] == primary


def test_the_handler_calls_only_what_the_template_grants(lam):
    """Every event kind run once: each call is an action the role grants (the operations'
    EC2 actions and the handler's own), and each of the handler's own is used."""
    from eniops._registry import actions_for
    from eniops.aws_lambda._config import HANDLER_ACTIONS

    _alarm(lam, "instance-status-check", "ALARM")
    new = _group(lam, enis=[lam.lab.floating_eni])
    _member(lam, lam.lab.standby)  # it will hold the ENI: a member of the group
    lam.strict.reset_calls()
    called: set[str] = set()
    for service, client in lam.clients.items():
        if service != "ec2":
            client.meta.events.register(
                "before-call", lambda model, s=service, **_: called.add(f"{s}:{model.name}")
            )
    for name in ("ec2-rebalance-recommendation", "scheduled-event"):
        aws_lambda.handler(event(name, lam.lab.active), FakeContext())
    aws_lambda.handler(event("cloudwatch-alarm-state-change", lam.lab.active), FakeContext())
    with lam.strict.internal() as client:
        client.stop_instances(InstanceIds=[lam.lab.standby])  # it holds the ENI now: leaving
    launched = event("autoscaling-launch-lifecycle-action", new, group=GROUP, hook=HOOK)
    assert aws_lambda.handler(launched, FakeContext())["ok"] is True
    called |= {f"ec2:{c.operation}" for c in lam.strict.calls}
    assert called <= set(actions_for()) | set(HANDLER_ACTIONS), called
    assert [d.result for d in lam.autoscaling.completed] == ["CONTINUE"]
    called.add("autoscaling:CompleteLifecycleAction")  # answered before its call is made
    waiting = {"dynamodb:GetItem"}  # read only while another invocation holds the lease
    assert {c for c in called if not c.startswith("ec2:")} == set(HANDLER_ACTIONS) - waiting


def _alarm(world, name, state):
    put_alarm(world.clients["cloudwatch"], world.lab.active, name, state)


# -- the failed instance's floating IPs (`eniops:floating-ips`) -----------------------------


def _floating_ips(lam, dual, extra=""):
    """An IPv4 and an IPv6 address on the active instance's primary ENI, named by its tag
    (with `extra` words after them)."""
    active = lam.primary_eni(lam.lab.active)
    v6 = str(dual[0x90])
    with lam.strict.internal() as client:
        client.assign_private_ip_addresses(
            NetworkInterfaceId=active, PrivateIpAddresses=["10.0.1.77"]
        )
        client.assign_ipv6_addresses(NetworkInterfaceId=active, Ipv6Addresses=[v6])
        client.create_tags(
            Resources=[lam.lab.active],
            Tags=[{"Key": "eniops:floating-ips", "Value": f"10.0.1.77  {v6} {extra}"}],
        )
    return active, v6


def test_the_failed_instances_floating_ips_move_with_it(lam, dual):
    """A stopped instance tagged with its floating IPs: both families move to the standby's
    primary ENI with everything else; who holds them is read once the tag is read."""
    active, v6 = _floating_ips(lam, dual)
    standby = lam.primary_eni(lam.lab.standby)
    lam.client.stop_instances(InstanceIds=[lam.lab.active])
    lam.strict.reset_calls()
    result = aws_lambda.handler(event("ec2-state-change-stopped", lam.lab.active), FakeContext())
    assert (result["ok"], result["changed"]) == (True, True)
    assert "10.0.1.77" in lam.ips(standby)
    assert "10.0.1.77" not in lam.ips(active)
    shown = lam.eni(standby).get("Ipv6Addresses", [])
    assert [a["Ipv6Address"] for a in shown] == [v6]
    assert lam.eni(active).get("Ipv6Addresses", []) == []
    filters = [f for c in lam.strict.calls for f in c.params.get("Filters", [])]
    assert {"Name": "ipv6-addresses.ipv6-address", "Values": [v6]} in filters
    assert {"Name": "addresses.private-ip-address", "Values": ["10.0.1.77"]} in filters


def _third_holds(lam, ip):
    """`ip` on a new ENI of subnet a that is neither the active's nor the standby's."""
    with lam.strict.internal() as client:
        made = client.create_network_interface(SubnetId=lam.lab.subnet_a)["NetworkInterface"]
        eni = made["NetworkInterfaceId"]
        if ":" in ip:
            client.assign_ipv6_addresses(NetworkInterfaceId=eni, Ipv6Addresses=[ip])
        else:
            client.assign_private_ip_addresses(NetworkInterfaceId=eni, PrivateIpAddresses=[ip])
    return eni


def test_a_floating_ip_someone_else_holds_is_a_warning_of_the_check(lam, dual):
    """The scheduled check reads the tag as a failover would: an address the tag names that
    a third ENI holds is left out, named in the warnings (the tag is a hint); nothing
    changes."""
    v6 = str(dual[0x91])
    third = _third_holds(lam, v6)
    with lam.strict.internal() as client:
        client.create_tags(
            Resources=[lam.lab.active], Tags=[{"Key": "eniops:floating-ips", "Value": v6}]
        )
    result = aws_lambda.handler(event("scheduled-event", lam.lab.active), FakeContext())
    (pair,) = result["pairs"]
    assert pair["problems"] == []
    assert any(v6 in w and third in w for w in pair["warnings"])
    assert [c for c in lam.strict.mutations if not c.params.get("DryRun")] == []


BAD_HINTS = {
    "garbage": lambda lam, dual: "not-an-address",
    "another-enis-ip": lambda lam, dual: _third_holds(lam, "10.0.1.88") and "10.0.1.88",
    "the-primary-ip": lambda lam, dual: lam.eni(lam.primary_eni(lam.lab.active))[
        "PrivateIpAddress"
    ],
    "outside-the-subnet": lambda lam, dual: "10.0.9.77",
    "free-in-the-subnet": lambda lam, dual: "10.0.1.99",
}


@pytest.mark.parametrize("bad", sorted(BAD_HINTS))
def test_a_bad_floating_ips_value_is_left_out_and_the_failover_goes_on(lam, dual, bad):
    """The tag is a hint: a value that does not read, another ENI's address, the source's
    primary IP, an address outside the subnet or one no ENI holds is left out with a warning
    naming it; the Elastic IP, the ENI and the tag's good addresses move all the same."""
    value = BAD_HINTS[bad](lam, dual)
    _, v6 = _floating_ips(lam, dual, extra=value)
    standby = lam.primary_eni(lam.lab.standby)
    lam.client.stop_instances(InstanceIds=[lam.lab.active])
    lam.strict.reset_calls()
    result = aws_lambda.handler(event("ec2-state-change-stopped", lam.lab.active), FakeContext())
    assert (result["ok"], result["changed"]) == (True, True)
    assert lam.address()["InstanceId"] == lam.lab.standby
    assert "10.0.1.77" in lam.ips(standby)
    assert [a["Ipv6Address"] for a in lam.eni(standby).get("Ipv6Addresses", [])] == [v6]
    assert value not in lam.ips(standby)
    (warning,) = [w for w in result["warnings"] if "eniops:floating-ips" in w]
    assert value in warning
    assert "left out" in warning


# -- the lease: a shared standby, a table that cannot be reached, no table -------------------


def _second_active(lam):
    """Another active in subnet a with its own Elastic IP, whose standby is the lab's."""
    (other,) = add_instances(lam.client, lam.lab, 1)
    with lam.strict.internal() as client:
        eni = client.describe_instances(InstanceIds=[other])["Reservations"][0]["Instances"][0][
            "NetworkInterfaces"
        ][0]["NetworkInterfaceId"]
        made = client.allocate_address(Domain="vpc")
        client.associate_address(AllocationId=made["AllocationId"], NetworkInterfaceId=eni)
        client.create_tags(
            Resources=[other],
            Tags=[{"Key": aws_lambda.STANDBY_TAG, "Value": lam.lab.standby}],
        )
    return other, made["AllocationId"]


def _at_once(events):
    answers: list[dict] = [{}] * len(events)
    start = threading.Barrier(len(events))

    def invoke(i):
        start.wait()
        answers[i] = aws_lambda.handler(events[i], FakeContext())

    threads = [threading.Thread(target=invoke, args=(i,)) for i in range(len(events))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def test_two_failovers_into_one_shared_standby_run_one_after_the_other(lam, capsys):
    """Two actives with their own Elastic IPs stop at once and share one standby: each
    failover holds the standby's lease too, so they run one after the other. The first moves
    its address onto the standby's primary IP; the second, reading after it, finds that IP
    taken (target-has-eip), is refused loudly (ERROR, FailoverRefused) and changes nothing:
    no address is silently displaced, none is lost."""
    other, other_eip = _second_active(lam)
    lam.client.stop_instances(InstanceIds=[lam.lab.active, other])
    lam.strict.latency_s = 0.02
    keys: list[str] = []
    lam.clients["dynamodb"].meta.events.register(
        "before-parameter-build.dynamodb.PutItem",
        lambda params, **_: keys.append(params["Item"]["pk"]["S"]),
    )
    answers = _at_once([event("ec2-state-change-stopped", i) for i in (lam.lab.active, other)])
    refused = [a for a in answers if not a["ok"]]
    moved = [a for a in answers if a["ok"]]
    assert len(refused) == 1, answers
    assert len(moved) == 1, answers
    assert moved[0]["changed"] is True
    assert refused[0]["error"]["reason"] == "target-has-eip"
    standby = lam.primary_eni(lam.lab.standby)
    shown = lam.client.describe_addresses(AllocationIds=[lam.lab.eip, other_eip])["Addresses"]
    on_standby = [a for a in shown if a.get("NetworkInterfaceId") == standby]
    assert len(on_standby) == 1
    assert all(a.get("AssociationId") for a in shown)  # the other one stayed where it was
    assert f"failover/{lam.lab.standby}" in keys
    logs, found = lines(capsys)
    assert sorted(line["level"] for line in logs) == ["ERROR", "INFO"]
    assert [n for n, _, _ in metrics(found)].count("FailoverRefused") == 1


def test_a_lease_table_that_cannot_be_reached_delays_the_failover_only_briefly(
    lam, monkeypatch, capsys
):
    """ENIOPS_LEASE_TABLE names a table that does not exist (or DynamoDB is down): the
    failover goes on without the lease within a few seconds rather than not at all, at
    WARNING, counted as LeaseUnavailable."""
    monkeypatch.setenv(_config.LEASE_TABLE_ENV, "no-such-table")
    lam.client.stop_instances(InstanceIds=[lam.lab.active])
    result = aws_lambda.handler(event("ec2-state-change-stopped", lam.lab.active), FakeContext())
    assert (result["ok"], result["changed"]) == (True, True)
    assert lam.address()["InstanceId"] == lam.lab.standby
    (line,), found = lines(capsys)
    assert line["level"] == "WARNING"
    assert "went on without it" in line["lease"]
    assert sorted(n for n, _, _ in metrics(found)) == [
        "FailoverSeconds",
        "Failovers",
        "LeaseUnavailable",
    ]


def test_a_throttled_lease_table_is_given_up_on_within_its_patience(lam, capsys):
    """DynamoDB answers every lease write with throttling: retried, then given up on after
    the lease's patience (seconds, not the invocation's deadline); the failover goes on."""
    from botocore.exceptions import ClientError

    from eniops.aws_lambda import _lease

    def throttled(**_):
        error = {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}
        raise ClientError({"Error": error, "ResponseMetadata": {"HTTPStatusCode": 400}}, "PutItem")

    lam.clients["dynamodb"].meta.events.register("before-call.dynamodb.PutItem", throttled)
    lam.client.stop_instances(InstanceIds=[lam.lab.active])
    started = time.monotonic()
    result = aws_lambda.handler(event("ec2-state-change-stopped", lam.lab.active), FakeContext(120))
    assert time.monotonic() - started < _lease.PATIENCE_S + 5
    assert (result["ok"], result["changed"]) == (True, True)
    (line,), found = lines(capsys)
    assert "LeaseUnavailable" in [n for n, _, _ in metrics(found)]
    assert line["level"] == "WARNING"


def test_without_a_lease_table_a_warning_says_so_once_per_cold_start(lam, monkeypatch, capsys):
    """No ENIOPS_LEASE_TABLE: duplicates are not held back, and the first failover of the
    execution environment says so at WARNING; the next one does not repeat it."""
    from eniops.aws_lambda import _act

    monkeypatch.delenv(_config.LEASE_TABLE_ENV)
    monkeypatch.setattr(_act, "_told_no_table", [])
    lam.client.stop_instances(InstanceIds=[lam.lab.active])
    first = aws_lambda.handler(event("ec2-state-change-stopped", lam.lab.active), FakeContext())
    second = aws_lambda.handler(event("ec2-state-change-stopped", lam.lab.active), FakeContext())
    assert (first["changed"], second["changed"]) == (True, False)
    logs, _ = lines(capsys)
    assert [line["level"] for line in logs] == ["WARNING", "INFO"]
    assert "not held back" in logs[0]["lease"]
    assert "lease" not in logs[1]


def _zone_issue(lam, **detail):
    """The shipped AWS Health issue event, its zone the lab's zone a, with `detail` over it."""
    found = event("health-zone-issue", lam.lab.active)
    found["detail"].update({"availabilityZone": lam.lab.zone_a, **detail})
    return found


def test_an_issue_in_a_zone_checks_that_zones_pairs_and_moves_nothing(lam, capsys):
    """An AWS Health EC2 issue naming a zone: `check_failover` of the pairs whose active
    instance is in it (logged, counted); the lab's own pair has its standby there too."""
    with lam.strict.internal() as ec2:
        (ready, _, _), (stopped, standby, _) = add_zone_pairs(ec2, lam.lab, 2)
        ec2.stop_instances(InstanceIds=[standby])
    before = lam.account()
    result = aws_lambda.handler(_zone_issue(lam), FakeContext())
    assert (result["ok"], result["zone"]) == (True, lam.lab.zone_a)
    found = {p["instance"]: p["readiness"] for p in result["pairs"]}
    assert set(found) == {lam.lab.active, ready, stopped}
    assert (found[ready]["ready"], found[ready]["problems"]) == (True, [])
    reasons = {i: [p["reason"] for p in r["problems"]] for i, r in found.items()}
    assert reasons[stopped] == ["standby-not-running"]
    assert reasons[lam.lab.active] == ["standby-in-zone"]
    assert lam.account() == before
    assert [c for c in lam.strict.mutations if not c.params.get("DryRun")] == []
    (line,), emitted = lines(capsys)
    assert (line["level"], line["outcome"], line["zone"]) == ("WARNING", "not-ready", "us-east-1a")
    counted = [(lam.lab.active, 1.0), (ready, 0.0), (stopped, 1.0)]
    assert sorted(metrics(emitted)) == sorted(("PairNotReady", i, v) for i, v in counted)


def test_an_issues_own_zone_is_the_zone_whatever_its_entities_look_like(lam):
    """`availabilityZone` names the zone: an affected entity that merely looks like a zone
    (a host called `web-1`, another zone's name) does not make it two."""
    entities = [{"entityValue": v} for v in ("web-1", "us-east-1b", lam.lab.active)]
    result = aws_lambda.handler(_zone_issue(lam, affectedEntities=entities), FakeContext())
    assert (result["ok"], result["zone"]) == (True, lam.lab.zone_a)
    assert lam.lab.active in [p["instance"] for p in result["pairs"]]


def test_an_issue_names_its_zone_by_id_among_its_entities(lam):
    zone_id = lam.client.describe_availability_zones(ZoneNames=[lam.lab.zone_a])[
        "AvailabilityZones"
    ][0]["ZoneId"]
    found = _zone_issue(lam, affectedEntities=[{"entityValue": zone_id}])
    del found["detail"]["availabilityZone"]
    result = aws_lambda.handler(found, FakeContext())
    assert result["zone"] == lam.lab.zone_a
    assert [p["instance"] for p in result["pairs"]] == [lam.lab.active]


@pytest.mark.parametrize(
    ("detail", "why"),
    [
        ({"statusCode": "closed"}, "is closed"),
        ({"eventRegion": "eu-west-1"}, "is about eu-west-1, not us-east-1"),
        ({"availabilityZone": None, "affectedEntities": []}, "names no availability zone"),
        (
            {
                "availabilityZone": None,
                "affectedEntities": [
                    {"entityValue": v} for v in ("us-east-1a", "i-01234567", "us-east-1b")
                ],
            },
            "names 2 zones: us-east-1a, us-east-1b",
        ),
        ({"availabilityZone": "somewhere!"}, "availabilityZone 'somewhere!' is not a zone"),
        (
            {"availabilityZone": None, "affectedEntities": [{"entityValue": "vol-01234567"}]},
            "names no availability zone",
        ),
        ({"service": "RDS"}, "neither an EC2 scheduled change nor an issue"),
    ],
)
def test_an_issue_that_names_no_one_zone_here_is_ignored(lam, detail, why, capsys):
    found = _zone_issue(lam, **detail)
    result = aws_lambda.handler(found, FakeContext())
    assert why in result["ignored"]
    assert lam.strict.calls == []
    (line,), emitted = lines(capsys)
    assert (line["level"], line["outcome"]) == ("INFO", "ignored")
    assert [m[0] for m in metrics(emitted)] == ["EventsIgnored"]


def test_an_issue_in_a_zone_this_region_has_not_is_refused_before_any_pair_is_read(lam):
    result = aws_lambda.handler(_zone_issue(lam, availabilityZone="us-east-1z"), FakeContext())
    assert (result["ok"], result["error"]["type"]) == (False, "InvalidInput")
    assert "us-east-1a" in result["error"]["message"]
    assert [c.operation for c in lam.strict.calls] == ["DescribeAvailabilityZones"]
