"""A small VPC to play failovers on, and the guard that keeps the test layer off real AWS."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

#: An image id moto knows; on a real account pass `image_id` (and `live=True`).
MOTO_IMAGE_ID = "ami-12c6146b"
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


class NotMoto(RuntimeError):
    """The client is not backed by moto: the test layer refuses to touch a real account."""


_known_servers: set[str] = set()


def _answer(url: str) -> str | None:
    """The body (its first 64 KiB) a loopback URL answers with 2xx, else None."""
    import urllib.request  # noqa: PLC0415

    try:
        with urllib.request.urlopen(url, timeout=5) as answer:  # noqa: S310
            if not 200 <= int(answer.status) < 300:
                return None
            return str(answer.read(65_536).decode("utf-8", "replace"))
    except OSError:
        return None


def _moto_config(body: str | None) -> bool:
    import json  # noqa: PLC0415

    try:
        config = json.loads(body or "")
    except ValueError:
        return False
    return (
        isinstance(config, dict)
        and isinstance(config.get("batch"), dict)
        and isinstance(config.get("lambda"), dict)
    )


def _moto_server(endpoint: str) -> bool:
    """True when `endpoint` is a moto server on this machine: it answers both moto's
    configuration (an object with its `batch` and `lambda` settings) and moto's dashboard
    page, which a stray server on a loopback port does not."""
    base = endpoint.rstrip("/")
    if base in _known_servers:
        return True
    if (urlsplit(base).hostname or "") not in LOOPBACK:
        return False
    dashboard = _answer(f"{base}/moto-api/")
    ok = _moto_config(_answer(f"{base}/moto-api/config")) and "<title>Moto</title>" in (
        dashboard or ""
    )
    if ok:
        _known_servers.add(base)
    return ok


def require_moto(client: Any) -> bool:
    """Refuse, with `NotMoto`, a client that would reach anything but moto; return True when
    moto runs in this process (`mock_aws`), False for a moto server."""
    endpoint = str(getattr(getattr(client, "meta", None), "endpoint_url", ""))
    host = urlsplit(endpoint).hostname or ""
    if host in LOOPBACK:
        if _moto_server(endpoint):
            return False
        raise NotMoto(f"{endpoint} does not answer as a moto server (/moto-api/)")
    try:
        from moto.core.models import patch_client  # noqa: PLC0415
    except ImportError as err:
        raise NotMoto("moto is not installed: pip install 'eniops[testing]'") from err
    still_moto(endpoint)
    patch_client(client)  # make sure this client is served by moto, whenever it was built
    return True


def still_moto(endpoint: str, *, checked: bool = False) -> None:
    """Refuse (`NotMoto`) an endpoint moto in this process would not answer: moto not
    running (never started, or `mock_aws` ended), or (unless `checked` already) an endpoint
    it lets through (a FIPS or dual-stack endpoint, a VPC endpoint's URL,
    `AWS_ENDPOINT_URL_EC2`, a loopback spelt `127.1`, a passthrough in moto's configuration):
    a request there would leave."""
    from moto.core.models import botocore_stubber  # noqa: PLC0415

    if not botocore_stubber.enabled:
        raise NotMoto(
            f"this client would reach {endpoint}: start moto first (with mock_aws(): ...) or "
            "point it at a moto server on 127.0.0.1"
        )
    if not checked and not _intercepted(endpoint):
        raise NotMoto(
            f"moto does not answer {endpoint} (a FIPS, dual-stack or VPC endpoint, an endpoint "
            "URL set in the environment, or a passthrough): a request there would leave"
        )


def _intercepted(endpoint: str) -> bool:
    """Would moto in this process answer a request to `endpoint`? As its stubber decides."""
    from moto import backend_index  # noqa: PLC0415
    from moto.core.config import passthrough_service, passthrough_url  # noqa: PLC0415
    from moto.core.utils import get_equivalent_url_in_aws_domain  # noqa: PLC0415

    parsed, _ = get_equivalent_url_in_aws_domain(endpoint.rstrip("/") + "/")
    clean = f"{parsed.scheme}://{parsed.netloc}{parsed.path}"
    if passthrough_url(clean):
        return False
    for service, pattern in backend_index.backend_url_patterns:
        if pattern.match(clean):
            return not passthrough_service(service)
    return False


@dataclass(frozen=True)
class Lab:
    """A small VPC to play failovers on (see `build_lab`)."""

    vpc_id: str
    subnet_a: str  # 10.0.1.0/24 in zone a: active and standby live here
    subnet_a2: str  # 10.0.2.0/24, also zone a: where the floating ENI comes from
    subnet_b: str  # 10.0.3.0/24 in zone b
    active: str  # instance in subnet_a
    standby: str  # instance in subnet_a
    far: str  # instance in zone b
    eip: str  # allocation id, associated with the active instance's primary ENI
    public_ip: str
    floating_eni: str  # ENI in subnet_a2, attached to the active instance at device index 1
    zone_a: str
    zone_b: str
    overlay: str = "192.168.100.10/32"  # routed to the active instance's primary ENI
    route_tables: tuple[str, ...] = ()  # the VPC's main table and one for zone b, both routing it


class _Builder:
    """Creates the lab's resources, each tagged ``eniops:lab=<tag>``."""

    def __init__(self, client: Any, lab_tag: str, instance_type: str, image_id: str) -> None:
        self.client = client
        self.tags = [{"Key": "eniops:lab", "Value": lab_tag}]
        self.instance_type = instance_type
        self.image_id = image_id

    def spec(self, kind: str, *extra: dict[str, str]) -> list[dict[str, Any]]:
        return [{"ResourceType": kind, "Tags": [*self.tags, *extra]}]

    def vpc(self) -> str:
        vpc_id = str(
            self.client.create_vpc(CidrBlock="10.0.0.0/16", TagSpecifications=self.spec("vpc"))[
                "Vpc"
            ]["VpcId"]
        )
        # EC2 refuses to associate an Elastic IP in a VPC without an internet gateway.
        gateway = self.client.create_internet_gateway(
            TagSpecifications=self.spec("internet-gateway")
        )["InternetGateway"]["InternetGatewayId"]
        self.client.attach_internet_gateway(InternetGatewayId=gateway, VpcId=vpc_id)
        return vpc_id

    def subnet(self, vpc_id: str, cidr: str, zone: str) -> str:
        made = self.client.create_subnet(
            VpcId=vpc_id,
            CidrBlock=cidr,
            AvailabilityZone=zone,
            TagSpecifications=self.spec("subnet"),
        )
        return str(made["Subnet"]["SubnetId"])

    def instance(self, subnet_id: str, name: str) -> tuple[str, str]:
        """An instance; returns its id and its primary ENI's (SourceDestCheck off, so that it
        may carry an overlay IP)."""
        made = self.client.run_instances(
            ImageId=self.image_id,
            MinCount=1,
            MaxCount=1,
            InstanceType=self.instance_type,
            SubnetId=subnet_id,
            TagSpecifications=self.spec("instance", {"Key": "Name", "Value": name}),
        )["Instances"][0]
        primary = made["NetworkInterfaces"][0]["NetworkInterfaceId"]
        self.client.modify_network_interface_attribute(
            NetworkInterfaceId=primary, SourceDestCheck={"Value": False}
        )
        return str(made["InstanceId"]), str(primary)

    def address_on(self, eni_id: str) -> dict[str, Any]:
        """An Elastic IP associated with `eni_id`'s primary IP."""
        address = self.client.allocate_address(
            Domain="vpc", TagSpecifications=self.spec("elastic-ip")
        )
        self.client.associate_address(
            AllocationId=address["AllocationId"],
            NetworkInterfaceId=eni_id,
            AllowReassociation=False,
        )
        return dict(address)

    def floating_eni(self, subnet_id: str, instance_id: str) -> str:
        """An ENI attached to `instance_id` at device index 1."""
        floating = self.client.create_network_interface(
            SubnetId=subnet_id,
            Description="floating service address",
            TagSpecifications=self.spec("network-interface"),
        )["NetworkInterface"]["NetworkInterfaceId"]
        self.client.attach_network_interface(
            NetworkInterfaceId=floating, InstanceId=instance_id, DeviceIndex=1
        )
        return str(floating)

    def route_tables(
        self, vpc_id: str, subnet_b: str, overlay: str, eni_id: str
    ) -> tuple[str, str]:
        main = self.client.describe_route_tables(
            Filters=[
                {"Name": "vpc-id", "Values": [vpc_id]},
                {"Name": "association.main", "Values": ["true"]},
            ]
        )["RouteTables"][0]["RouteTableId"]
        self.client.create_tags(Resources=[main], Tags=self.tags)
        zone_b = self.client.create_route_table(
            VpcId=vpc_id, TagSpecifications=self.spec("route-table")
        )["RouteTable"]["RouteTableId"]
        self.client.associate_route_table(RouteTableId=zone_b, SubnetId=subnet_b)
        for table in (main, zone_b):
            self.client.create_route(
                RouteTableId=table, DestinationCidrBlock=overlay, NetworkInterfaceId=eni_id
            )
        return str(main), str(zone_b)


def build_lab(
    client: Any,
    *,
    instance_type: str = "t3.large",
    region: str = "us-east-1",
    image_id: str = MOTO_IMAGE_ID,
    lab_tag: str = "true",
    live: bool = False,
) -> Lab:
    """A VPC with two zones, three instances, an Elastic IP, a floating ENI and an overlay
    route in two route tables.

    Meant for moto (`mock_aws` or a moto server on 127.0.0.1); a client that would reach
    anything else is refused (`NotMoto`) unless `live=True` (a scratch account: pass a real
    `image_id`). Every resource is tagged ``eniops:lab=<lab_tag>`` to be found and removed.
    """
    if not live:
        require_moto(client)
    build = _Builder(client, lab_tag, instance_type, image_id)
    zone_a, zone_b = f"{region}a", f"{region}b"
    vpc_id = build.vpc()
    subnet_a = build.subnet(vpc_id, "10.0.1.0/24", zone_a)
    subnet_a2 = build.subnet(vpc_id, "10.0.2.0/24", zone_a)
    subnet_b = build.subnet(vpc_id, "10.0.3.0/24", zone_b)
    (active, active_eni), (standby, _), (far, _) = (
        build.instance(subnet_a, "active"),
        build.instance(subnet_a, "standby"),
        build.instance(subnet_b, "far"),
    )
    address = build.address_on(active_eni)
    floating = build.floating_eni(subnet_a2, active)
    overlay = "192.168.100.10/32"
    tables = build.route_tables(vpc_id, subnet_b, overlay, active_eni)
    return Lab(
        vpc_id=vpc_id,
        subnet_a=subnet_a,
        subnet_a2=subnet_a2,
        subnet_b=subnet_b,
        active=active,
        standby=standby,
        far=far,
        eip=address["AllocationId"],
        public_ip=address["PublicIp"],
        floating_eni=floating,
        zone_a=zone_a,
        zone_b=zone_b,
        overlay=overlay,
        route_tables=tables,
    )


def add_enis(client: Any, lab: Lab, count: int, *, instance_id: str | None = None) -> list[str]:
    """Attach `count` more ENIs to `instance_id` (the active instance), each in a subnet of its
    own in zone a (two ENIs of one subnet on an instance would be refused as same-subnet)."""
    target = instance_id or lab.active
    found = client.describe_instances(InstanceIds=[target])["Reservations"][0]["Instances"][0]
    used = {n["Attachment"]["DeviceIndex"] for n in found["NetworkInterfaces"]}
    vpc_subnets = client.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [lab.vpc_id]}])
    taken = {ipaddress.IPv4Network(s["CidrBlock"]) for s in vpc_subnets["Subnets"]}
    free = (
        net
        for n in range(100, 250)
        if (net := ipaddress.IPv4Network(f"10.0.{n}.0/24")) not in taken
    )
    tags = [{"ResourceType": "network-interface", "Tags": [{"Key": "eniops:lab", "Value": "true"}]}]
    made: list[str] = []
    for _ in range(count):
        subnet = client.create_subnet(
            VpcId=lab.vpc_id, CidrBlock=str(next(free)), AvailabilityZone=lab.zone_a
        )["Subnet"]["SubnetId"]
        eni = client.create_network_interface(SubnetId=subnet, TagSpecifications=tags)[
            "NetworkInterface"
        ]["NetworkInterfaceId"]
        index = next(i for i in range(1, 32) if i not in used)
        used.add(index)
        client.attach_network_interface(
            NetworkInterfaceId=eni, InstanceId=target, DeviceIndex=index
        )
        made.append(eni)
    return made


def add_instances(client: Any, lab: Lab, count: int) -> list[str]:
    """`count` more running instances like the standby, in subnet a (zone a), each with
    SourceDestCheck off on its primary ENI: more places to move things to."""
    standby = client.describe_instances(InstanceIds=[lab.standby])["Reservations"][0]["Instances"][
        0
    ]
    build = _Builder(client, "true", standby["InstanceType"], standby["ImageId"])
    return [build.instance(lab.subnet_a, f"extra-{n}")[0] for n in range(count)]


def add_zone_pairs(client: Any, lab: Lab, count: int) -> list[tuple[str, str, str]]:
    """`count` more HA pairs across the lab's zones: an active instance in zone a carrying an
    Elastic IP, its standby in zone b (tagged ``eniops:standby`` on the active). Returns
    (active, standby, allocation id) for each: what an evacuation of zone a moves."""
    standby = client.describe_instances(InstanceIds=[lab.standby])["Reservations"][0]["Instances"][
        0
    ]
    build = _Builder(client, "true", standby["InstanceType"], standby["ImageId"])
    made = []
    for n in range(count):
        active, active_eni = build.instance(lab.subnet_a, f"pair-{n}-active")
        standby_id, _ = build.instance(lab.subnet_b, f"pair-{n}-standby")
        address = build.address_on(active_eni)
        client.create_tags(
            Resources=[active], Tags=[{"Key": "eniops:standby", "Value": standby_id}]
        )
        made.append((active, standby_id, str(address["AllocationId"])))
    return made


def dual_stack(client: Any, lab: Lab) -> dict[str, str]:
    """Give the lab's VPC an Amazon IPv6 /56 and each of its subnets a /64 of it; return
    each subnet's IPv6 CIDR."""
    import ipaddress  # noqa: PLC0415

    association = client.associate_vpc_cidr_block(
        VpcId=lab.vpc_id, AmazonProvidedIpv6CidrBlock=True
    )["Ipv6CidrBlockAssociation"]
    blocks = ipaddress.IPv6Network(association["Ipv6CidrBlock"]).subnets(new_prefix=64)
    next(blocks)  # the first /64 left unused, as a VPC usually has one spare
    found = {}
    for subnet in (lab.subnet_a, lab.subnet_a2, lab.subnet_b):
        block = str(next(blocks))
        client.associate_subnet_cidr_block(SubnetId=subnet, Ipv6CidrBlock=block)
        found[subnet] = block
    return found
