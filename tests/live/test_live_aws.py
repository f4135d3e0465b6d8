"""Opt-in: every operation against a real AWS account, where EC2's rules and delays are real.

Two ways to run it, both skipped by default:

- ``ENIOPS_LIVE_AWS=1`` with credentials for a scratch account (region from
  ENIOPS_LIVE_REGION, default us-east-1): builds a lab, runs every operation for real, in
  order, and removes everything tagged ``eniops:lab=<run id>`` afterwards, whatever happens.
  It costs a few cents of t3.micro time and Elastic IP remaps.
- ``ENIOPS_LIVE_DRY_RUN=1`` for an account where nothing may change: names existing
  resources (ENIOPS_LIVE_INSTANCE, ENIOPS_LIVE_STANDBY in the same zone, ENIOPS_LIVE_EIP,
  optionally ENIOPS_LIVE_ENI and ENIOPS_LIVE_DESTINATION, a routed overlay CIDR) and runs every
  operation in ``plan`` and ``dry-run`` modes only. It creates nothing, and checks that every
  mutating call sent carried ``DryRun=True``.
"""

from __future__ import annotations

import os
import uuid

import boto3
import pytest

import eniops
from eniops.testing import build_lab

pytestmark = [pytest.mark.live]
changes_allowed = pytest.mark.skipif(
    os.environ.get("ENIOPS_LIVE_AWS") != "1",
    reason="live AWS tests need ENIOPS_LIVE_AWS=1 and a scratch account's credentials",
)
dry_run_only = pytest.mark.skipif(
    os.environ.get("ENIOPS_LIVE_DRY_RUN") != "1",
    reason="the dry-run live tests need ENIOPS_LIVE_DRY_RUN=1 and ENIOPS_LIVE_* resources",
)
REGION = os.environ.get("ENIOPS_LIVE_REGION", "us-east-1")
AMI_PARAMETER = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"


def _cleanup(client, run_id: str) -> None:
    """Remove everything tagged with this run's id, in dependency order."""
    tagged = [{"Name": "tag:eniops:lab", "Values": [run_id]}]
    for address in client.describe_addresses(Filters=tagged)["Addresses"]:
        if address.get("AssociationId"):
            client.disassociate_address(AssociationId=address["AssociationId"])
        client.release_address(AllocationId=address["AllocationId"])
    reservations = client.describe_instances(Filters=tagged)["Reservations"]
    instances = [i["InstanceId"] for r in reservations for i in r["Instances"]]
    if instances:
        client.terminate_instances(InstanceIds=instances)
        client.get_waiter("instance_terminated").wait(InstanceIds=instances)
    for eni in client.describe_network_interfaces(Filters=tagged)["NetworkInterfaces"]:
        client.delete_network_interface(NetworkInterfaceId=eni["NetworkInterfaceId"])
    for gateway in client.describe_internet_gateways(Filters=tagged)["InternetGateways"]:
        for attachment in gateway.get("Attachments", []):
            client.detach_internet_gateway(
                InternetGatewayId=gateway["InternetGatewayId"], VpcId=attachment["VpcId"]
            )
        client.delete_internet_gateway(InternetGatewayId=gateway["InternetGatewayId"])
    for subnet in client.describe_subnets(Filters=tagged)["Subnets"]:
        client.delete_subnet(SubnetId=subnet["SubnetId"])
    for vpc in client.describe_vpcs(Filters=tagged)["Vpcs"]:
        client.delete_vpc(VpcId=vpc["VpcId"])


@pytest.fixture(scope="module")
def live():
    client = boto3.client("ec2", region_name=REGION)
    ami = boto3.client("ssm", region_name=REGION).get_parameter(Name=AMI_PARAMETER)
    run_id = f"live-{uuid.uuid4().hex[:12]}"
    try:
        lab = build_lab(
            client,
            instance_type="t3.micro",
            region=REGION,
            image_id=ami["Parameter"]["Value"],
            lab_tag=run_id,
        )
        client.get_waiter("instance_running").wait(InstanceIds=[lab.active, lab.standby, lab.far])
        yield client, lab
    finally:
        _cleanup(client, run_id)


@changes_allowed
def test_live_show(live):
    """describe reads the instance, its Elastic IP, its ENIs and the routes to it."""
    client, lab = live
    shown = eniops.describe(lab.active, ec2=client)
    assert shown["id"] == lab.active
    assert _eips(shown) == [lab.eip]
    assert lab.floating_eni in [e["eni"] for e in shown["enis"]]
    assert {r["route_table"] for r in shown["routes"]} == set(lab.route_tables)


@changes_allowed
def test_live_remap_plan_dry_run_apply_and_no_op(live):
    """Plan and dry-run change nothing; apply moves the EIP; a re-run is a no-op."""
    client, lab = live
    for mode in ("plan", "dry-run"):
        assert not eniops.remap_eip(lab.eip, to_instance=lab.standby, mode=mode, ec2=client).changed
    result = eniops.remap_eip(
        lab.eip, to_instance=lab.standby, expect_current=lab.active, ec2=client
    )
    assert result.changed
    assert result.after["address"]["instance"] == lab.standby
    assert not eniops.remap_eip(lab.eip, to_instance=lab.standby, ec2=client).changed


@changes_allowed
def test_live_move_eni_waits_for_real_transitions(live):
    """A real detach and attach, verified; the refusals hold on real EC2 too."""
    client, lab = live
    with pytest.raises(eniops.PreconditionFailed) as caught:
        eniops.move_eni(lab.floating_eni, to_instance=lab.far, ec2=client)
    assert caught.value.reason == "az-mismatch"
    result = eniops.move_eni(
        lab.floating_eni, to_instance=lab.standby, expect_current=lab.active, ec2=client
    )
    assert result.after["eni"]["instance"] == lab.standby
    assert result.after["eni"]["attachment_status"] == "attached"


@changes_allowed
def test_live_detach_then_attach(live):
    """The floating ENI leaves the standby and is attached to the active instance again."""
    client, lab = live
    detached = eniops.detach_eni(lab.floating_eni, expect_current=lab.standby, ec2=client)
    assert detached.after["eni"]["status"] == "available"
    attached = eniops.attach_eni(lab.floating_eni, instance=lab.active, ec2=client)
    assert attached.after["eni"]["instance"] == lab.active


@changes_allowed
def test_live_secondary_ips(live):
    """t3.micro allows 2 IPv4 per interface: one secondary fits, a second is refused."""
    client, lab = live
    added = eniops.add_secondary_ips(lab.active, count=1, ec2=client)
    ip = added.after["eni"]["secondary_ips"][0]
    with pytest.raises(eniops.PreconditionFailed) as caught:
        eniops.add_secondary_ips(lab.active, count=1, ec2=client)
    assert caught.value.reason == "ip-limit"
    assert eniops.remove_secondary_ips(lab.active, ips=[ip], ec2=client).changed


@changes_allowed
def test_live_move_route(live):
    """The overlay route moves from the active instance's ENI to the standby's in every
    table that routes it, verified."""
    client, lab = live
    result = eniops.move_route(
        lab.overlay, to_instance=lab.standby, expect_current=lab.active, ec2=client
    )
    assert result.changed
    for table in client.describe_route_tables(RouteTableIds=list(lab.route_tables))["RouteTables"]:
        route = next(r for r in table["Routes"] if r.get("DestinationCidrBlock") == lab.overlay)
        assert route["NetworkInterfaceId"] == _primary(client, lab.standby)


@changes_allowed
def test_live_failover_brings_everything_back(live):
    """After the moves above the standby holds the Elastic IP and the route, the active
    instance the floating ENI: a failover each way gathers all of it on one instance."""
    client, lab = live
    eniops.failover_instance(lab.active, to_instance=lab.standby, ec2=client)
    result = eniops.failover_instance(lab.standby, to_instance=lab.active, ec2=client)
    assert result.changed
    shown = eniops.describe(lab.active, ec2=client)
    assert _eips(shown) == [lab.eip]
    assert lab.floating_eni in [e["eni"] for e in shown["enis"]]
    assert (
        eniops.failover_instance(lab.standby, to_instance=lab.active, ec2=client).changed is False
    )


def _eips(shown: dict) -> list[str]:
    return [a["allocation_id"] for e in shown["enis"] for a in e["elastic_ips"]]


def _primary(client, instance_id: str) -> str:
    instance = client.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][
        0
    ]
    return next(
        n["NetworkInterfaceId"]
        for n in instance["NetworkInterfaces"]
        if n["Attachment"]["DeviceIndex"] == 0
    )


# -- an account where nothing may change --------------------------------------------------


@pytest.fixture(scope="module")
def read_only():
    """A client that records every call, and the resources named by the environment."""
    client = boto3.client("ec2", region_name=REGION)
    sent: list[tuple[str, dict]] = []
    client.meta.events.register(
        "before-call.ec2", lambda model, params, **_: sent.append((model.name, dict(params)))
    )
    names = {
        key: os.environ.get(f"ENIOPS_LIVE_{key.upper()}")
        for key in ("instance", "standby", "eip", "eni", "destination")
    }
    yield client, names, sent
    mutating = [(name, params) for name, params in sent if not name.startswith("Describe")]
    assert all(params.get("DryRun") for _, params in mutating), mutating


def _plans_and_dry_runs(call) -> None:
    for mode in ("plan", "dry-run"):
        result = call(mode)
        assert result.mode == mode
        assert result.changed is False


@dry_run_only
def test_dry_run_every_operation(read_only):
    """Every operation, planned and dry-run, on the resources the environment names."""
    client, names, _ = read_only
    instance, standby = names["instance"], names["standby"]
    missing = [k for k in ("instance", "standby", "eip") if not names[k]]
    assert not missing, f"set ENIOPS_LIVE_{', ENIOPS_LIVE_'.join(m.upper() for m in missing)}"
    eniops.describe(instance, ec2=client)
    _plans_and_dry_runs(
        lambda mode: eniops.remap_eip(
            names["eip"], to_instance=standby, expect_current=instance, mode=mode, ec2=client
        )
    )
    _plans_and_dry_runs(
        lambda mode: eniops.failover_instance(instance, to_instance=standby, mode=mode, ec2=client)
    )
    _plans_and_dry_runs(
        lambda mode: eniops.add_secondary_ips(instance, count=1, mode=mode, ec2=client)
    )
    if names["eni"]:
        _plans_and_dry_runs(
            lambda mode: eniops.move_eni(
                names["eni"], to_instance=standby, expect_current=instance, mode=mode, ec2=client
            )
        )
        _plans_and_dry_runs(
            lambda mode: eniops.detach_eni(
                names["eni"], expect_current=instance, mode=mode, ec2=client
            )
        )
    if names["destination"]:
        _plans_and_dry_runs(
            lambda mode: eniops.move_route(
                names["destination"], to_instance=standby, mode=mode, ec2=client
            )
        )


# -- the same sequence, rehearsed on the strict layer over moto (always runs) -------------

LIVE_SEQUENCE = [
    test_live_show,
    test_live_remap_plan_dry_run_apply_and_no_op,
    test_live_move_eni_waits_for_real_transitions,
    test_live_detach_then_attach,
    test_live_secondary_ips,
    test_live_move_route,
    test_live_failover_brings_everything_back,
]


def test_the_live_suite_rehearsed_on_moto(monkeypatch):
    """The live tests' own assertions, checked where they can run every time: their order
    and expectations hold on the strict layer, and the dry-run test sends DryRun only."""
    from moto import mock_aws

    from eniops.testing import StrictEc2, short_waits

    with mock_aws(), short_waits():
        client = boto3.client("ec2", region_name=REGION)
        lab = build_lab(client, instance_type="t3.micro", region=REGION)
        StrictEc2(client)
        for test in LIVE_SEQUENCE:
            test((client, lab))
        for key, value in {
            "INSTANCE": lab.active,
            "STANDBY": lab.standby,
            "EIP": lab.eip,
            "ENI": lab.floating_eni,
            "DESTINATION": lab.overlay,
        }.items():
            monkeypatch.setenv(f"ENIOPS_LIVE_{key}", value)
        made = boto3.client

        def strict_client(*args, **kwargs):
            made_client = made(*args, **kwargs)
            StrictEc2(made_client)  # moto carries some DryRun calls out; EC2 never does
            return made_client

        monkeypatch.setattr(boto3, "client", strict_client)
        fixture = read_only.__wrapped__()
        test_dry_run_every_operation(next(fixture))
        with pytest.raises(StopIteration):
            next(fixture)  # its closing check: every mutating call carried DryRun=True
