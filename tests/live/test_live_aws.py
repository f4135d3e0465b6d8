"""Opt-in: the operations against a real AWS account, where EC2's rules and delays are real.

Runs only with ENIOPS_LIVE_AWS=1 and credentials for a scratch account (region from
ENIOPS_LIVE_REGION, default us-east-1). Every resource is tagged eniops:lab=<run id> and
removed afterwards, whatever happens. It costs a few cents of t3.micro time and EIP remaps.
"""

from __future__ import annotations

import os
import uuid

import boto3
import pytest

import eniops
from eniops.testing import build_lab

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(
        os.environ.get("ENIOPS_LIVE_AWS") != "1",
        reason="live AWS tests need ENIOPS_LIVE_AWS=1 and a scratch account's credentials",
    ),
]
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


def test_live_secondary_ips(live):
    """t3.micro allows 2 IPv4 per interface: one secondary fits, a second is refused."""
    client, lab = live
    added = eniops.add_secondary_ips(lab.active, count=1, ec2=client)
    ip = added.after["eni"]["secondary_ips"][0]
    with pytest.raises(eniops.PreconditionFailed) as caught:
        eniops.add_secondary_ips(lab.active, count=1, ec2=client)
    assert caught.value.reason == "ip-limit"
    assert eniops.remove_secondary_ips(lab.active, ips=[ip], ec2=client).changed
