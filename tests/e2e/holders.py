"""Where a lab's floating resources are on a moto server, read with plain boto3 (the tests'
own view, not eniops')."""

from __future__ import annotations

import boto3


def ec2(server):
    return boto3.client("ec2", region_name="us-east-1", endpoint_url=server)


def primary_eni(server, instance_id):
    found = ec2(server).describe_instances(InstanceIds=[instance_id])["Reservations"][0]
    return found["Instances"][0]["NetworkInterfaces"][0]


def eip_holder(server, lab):
    """The instance the lab's Elastic IP is on (None: unassociated)."""
    address = ec2(server).describe_addresses(AllocationIds=[lab.eip])["Addresses"][0]
    eni = address.get("NetworkInterfaceId")
    if not eni:
        return None
    found = ec2(server).describe_network_interfaces(NetworkInterfaceIds=[eni])
    return found["NetworkInterfaces"][0]["Attachment"]["InstanceId"]


def put_eip(server, lab, instance_id):
    """Put the lab's Elastic IP on `instance_id`'s primary IP (None: unassociate it)."""
    if instance_id is None:
        address = ec2(server).describe_addresses(AllocationIds=[lab.eip])["Addresses"][0]
        ec2(server).disassociate_address(AssociationId=address["AssociationId"])
        return
    ec2(server).associate_address(
        AllocationId=lab.eip,
        NetworkInterfaceId=primary_eni(server, instance_id)["NetworkInterfaceId"],
        AllowReassociation=True,
    )


def route_holder(server, lab, destination=None):
    """The ENI every route of the lab's overlay (or of `destination`) points at."""
    destination = destination or lab.overlay
    tables = ec2(server).describe_route_tables(RouteTableIds=list(lab.route_tables))
    (eni,) = {
        r.get("NetworkInterfaceId")
        for t in tables["RouteTables"]
        for r in t["Routes"]
        if destination in (r.get("DestinationCidrBlock"), r.get("DestinationIpv6CidrBlock"))
    }
    return eni


OVERLAY_V6 = "2001:db8::10/128"


def ipv6_overlay(server, lab, instance_id):
    """Routes for the IPv6 overlay address in the lab's tables, to `instance_id`."""
    eni = primary_eni(server, instance_id)["NetworkInterfaceId"]
    for table in lab.route_tables:
        ec2(server).create_route(
            RouteTableId=table, DestinationIpv6CidrBlock=OVERLAY_V6, NetworkInterfaceId=eni
        )
