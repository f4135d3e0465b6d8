"""Frozen snapshots of the EC2 state eniops reasons about, parsed from describe output.

Pure: these take the dictionaries boto3 returns and never call AWS themselves.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .._core._json import JsonDict

if TYPE_CHECKING:
    from mypy_boto3_ec2.type_defs import (
        AddressTypeDef,
        InstanceNetworkInterfaceTypeDef,
        InstanceStatusTypeDef,
        InstanceTypeDef,
        InstanceTypeInfoTypeDef,
        NetworkInterfaceTypeDef,
        SubnetTypeDef,
    )

from ._tags import HOLDER_TAG, IP_MOVE_TAG, MOVE_TAG, HolderTag, IpMoveIntent, MoveIntent, tag_dict


class _PlacedByEniops:
    """A resource eniops moves, and so tags with where it placed it (`eniops:holder`)."""

    tags: Mapping[str, str]

    @property
    def holder(self) -> HolderTag | None:
        """Where its `eniops:holder` tag says eniops last placed it, if the tag reads."""
        return HolderTag.parse(self.tags.get(HOLDER_TAG))

    @property
    def holder_tag(self) -> str | None:
        """Its `eniops:holder` tag as written, if any."""
        return self.tags.get(HOLDER_TAG)


@dataclass(frozen=True)
class Attachment:
    """An ENI's attachment to an instance."""

    attachment_id: str
    instance_id: str
    device_index: int
    network_card_index: int
    status: str
    delete_on_termination: bool

    @property
    def is_primary(self) -> bool:
        """Device index 0 on network card 0: the interface an instance cannot lose."""
        return self.device_index == 0 and self.network_card_index == 0


def _ipv6_addresses(
    raw: NetworkInterfaceTypeDef | InstanceNetworkInterfaceTypeDef,
) -> tuple[tuple[str, ...], str | None]:
    """An ENI's IPv6 addresses (canonical text) and its primary IPv6, if any."""
    found = [p for p in raw.get("Ipv6Addresses") or () if p.get("Ipv6Address")]
    addresses = tuple(str(ipaddress.IPv6Address(p["Ipv6Address"])) for p in found)
    primary = [a for a, p in zip(addresses, found, strict=True) if p.get("IsPrimaryIpv6")]
    return addresses, primary[0] if primary else None


@dataclass(frozen=True)
class Eni(_PlacedByEniops):
    """A network interface and what is attached to it."""

    eni_id: str
    subnet_id: str
    vpc_id: str
    availability_zone: str
    status: str
    interface_type: str
    requester_managed: bool
    primary_ip: str
    private_ips: tuple[str, ...]
    public_ips: Mapping[str, str] = field(default_factory=dict)  # private IP -> public IP
    attachment: Attachment | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    source_dest_check: bool = True
    #: Its IPv6 addresses, and which of them is its primary IPv6 (`IsPrimaryIpv6`), if any.
    ipv6_addresses: tuple[str, ...] = ()
    primary_ipv6: str | None = None

    @property
    def instance_id(self) -> str | None:
        """The instance it is attached to (or still detaching from), if any."""
        return self.attachment.instance_id if self.attachment else None

    @property
    def attached_to(self) -> str | None:
        """The instance it is attached to and settled on (`attached`), if any."""
        att = self.attachment
        return att.instance_id if att is not None and att.status == "attached" else None

    @property
    def detaching(self) -> bool:
        """True while its attachment is `detaching`: it is leaving its instance."""
        return self.attachment is not None and self.attachment.status == "detaching"

    @property
    def secondary_ips(self) -> tuple[str, ...]:
        """Private IPs other than the primary."""
        return tuple(ip for ip in self.private_ips if ip != self.primary_ip)

    @property
    def ip_intent(self) -> IpMoveIntent | None:
        """The pending IPv6 move to it recorded in its `eniops:ip-move` tag, if any."""
        return IpMoveIntent.parse(self.tags.get(IP_MOVE_TAG))

    @property
    def intent(self) -> MoveIntent | None:
        """The pending move recorded in its `eniops:move` tag, if any."""
        return MoveIntent.parse(self.tags.get(MOVE_TAG))

    @classmethod
    def from_api(
        cls,
        raw: NetworkInterfaceTypeDef | InstanceNetworkInterfaceTypeDef,
        *,
        instance_id: str | None = None,
        az: str | None = None,
    ) -> Eni:
        """Parse a `NetworkInterfaces` entry of DescribeNetworkInterfaces or DescribeInstances."""
        att = raw.get("Attachment") or None
        attachment = None
        if att and att.get("AttachmentId") and att.get("Status") != "detached":
            attachment = Attachment(
                attachment_id=att["AttachmentId"],
                # DescribeInstances' entries name no instance: the one they are of.
                instance_id=str(att.get("InstanceId") or instance_id or ""),
                device_index=int(att.get("DeviceIndex", 0)),
                network_card_index=int(att.get("NetworkCardIndex", 0)),
                status=att.get("Status", ""),
                delete_on_termination=bool(att.get("DeleteOnTermination", False)),
            )
        private = raw.get("PrivateIpAddresses") or []
        primary = raw.get("PrivateIpAddress") or next(
            (p["PrivateIpAddress"] for p in private if p.get("Primary")), ""
        )
        ips = tuple(p["PrivateIpAddress"] for p in private) or ((primary,) if primary else ())
        public = {
            p["PrivateIpAddress"]: p["Association"]["PublicIp"]
            for p in private
            if (p.get("Association") or {}).get("PublicIp")
        }
        raw_tags = raw.get("TagSet", raw.get("Tags"))
        v6, primary_v6 = _ipv6_addresses(raw)
        return cls(
            eni_id=raw["NetworkInterfaceId"],
            subnet_id=raw.get("SubnetId", ""),
            vpc_id=raw.get("VpcId", ""),
            availability_zone=str(raw.get("AvailabilityZone") or az or ""),
            status=raw.get("Status", ""),
            interface_type=raw.get("InterfaceType") or "interface",
            requester_managed=bool(raw.get("RequesterManaged", False)),
            primary_ip=primary,
            private_ips=ips,
            public_ips=public,
            attachment=attachment,
            tags=tag_dict(raw_tags),
            source_dest_check=bool(raw.get("SourceDestCheck", True)),
            ipv6_addresses=v6,
            primary_ipv6=primary_v6,
        )

    def summary(self) -> JsonDict:
        """The state that matters for results and `show`."""
        att = self.attachment
        view: JsonDict = {
            "eni": self.eni_id,
            "status": self.status,
            "instance": att.instance_id if att else None,
            "attachment_id": att.attachment_id if att else None,
            "attachment_status": att.status if att else None,
            "device_index": att.device_index if att else None,
            "network_card_index": att.network_card_index if att else None,
            "subnet": self.subnet_id,
            "availability_zone": self.availability_zone,
            "primary_ip": self.primary_ip,
            "secondary_ips": list(self.secondary_ips),
            "ipv6_addresses": [
                {"address": ip, "primary": ip == self.primary_ipv6} for ip in self.ipv6_addresses
            ],
        }
        intent = self.intent
        if intent is not None:
            view["pending_move"] = intent.format()
        return view


@dataclass(frozen=True)
class Instance:
    """An instance with the interfaces attached to it."""

    instance_id: str
    state: str
    instance_type: str
    availability_zone: str
    vpc_id: str
    enis: tuple[Eni, ...]
    tags: Mapping[str, str] = field(default_factory=dict)
    #: The primary private IP as DescribeInstances reports it (kept after the teardown).
    private_ip: str | None = None

    @property
    def primary_eni(self) -> Eni | None:
        """The device-index-0 interface on network card 0."""
        return next((e for e in self.enis if e.attachment and e.attachment.is_primary), None)

    def used_device_indexes(self, network_card_index: int = 0) -> frozenset[int]:
        """Device indexes taken on one network card (a `detaching` ENI still takes its own)."""
        return frozenset(
            e.attachment.device_index
            for e in self.enis
            if e.attachment and e.attachment.network_card_index == network_card_index
        )

    def with_enis(self, enis: Mapping[str, Eni]) -> Instance:
        """This instance with its ENIs replaced by fuller reads of them (tags included)."""
        return dataclasses.replace(self, enis=tuple(enis.get(e.eni_id, e) for e in self.enis))

    @property
    def primary_ip(self) -> str | None:
        """Its primary private IP: its primary ENI's, or (torn down) what EC2 still reports."""
        primary = self.primary_eni
        return primary.primary_ip if primary is not None else self.private_ip

    @classmethod
    def from_api(cls, raw: InstanceTypeDef) -> Instance:
        """Parse an `Instances` entry of DescribeInstances."""
        iid = raw["InstanceId"]
        az = (raw.get("Placement") or {}).get("AvailabilityZone", "")
        return cls(
            instance_id=iid,
            state=(raw.get("State") or {}).get("Name", ""),
            instance_type=raw.get("InstanceType", ""),
            availability_zone=az,
            vpc_id=raw.get("VpcId", ""),
            enis=tuple(
                Eni.from_api(n, instance_id=iid, az=az) for n in raw.get("NetworkInterfaces") or ()
            ),
            tags=tag_dict(raw.get("Tags")),
            private_ip=raw.get("PrivateIpAddress") or None,
        )

    def summary(self) -> JsonDict:
        """The state that matters for results."""
        return {
            "instance": self.instance_id,
            "state": self.state,
            "availability_zone": self.availability_zone,
        }


@dataclass(frozen=True)
class Address(_PlacedByEniops):
    """An Elastic IP and its association, if any."""

    allocation_id: str
    public_ip: str
    association_id: str | None
    eni_id: str | None
    instance_id: str | None
    private_ip: str | None
    tags: Mapping[str, str] = field(default_factory=dict)

    @property
    def associated(self) -> bool:
        """True when the address is associated with something."""
        return bool(self.association_id or self.eni_id or self.instance_id)

    @classmethod
    def from_api(cls, raw: AddressTypeDef) -> Address:
        """Parse an `Addresses` entry of DescribeAddresses."""
        return cls(
            allocation_id=raw.get("AllocationId", ""),
            public_ip=raw.get("PublicIp", ""),
            association_id=raw.get("AssociationId") or None,
            eni_id=raw.get("NetworkInterfaceId") or None,
            instance_id=raw.get("InstanceId") or None,
            private_ip=raw.get("PrivateIpAddress") or None,
            tags=tag_dict(raw.get("Tags")),
        )

    def summary(self) -> JsonDict:
        """The state that matters for results and `show`."""
        return {
            "allocation_id": self.allocation_id,
            "public_ip": self.public_ip,
            "association_id": self.association_id,
            "eni": self.eni_id,
            "instance": self.instance_id,
            "private_ip": self.private_ip,
        }


@dataclass(frozen=True)
class Limits:
    """An instance type's network limits (DescribeInstanceTypes → NetworkInfo)."""

    instance_type: str
    max_enis: int
    max_enis_per_card: Mapping[int, int]
    ipv4_per_eni: int
    #: IPv6 addresses per interface (0: the type has no IPv6).
    ipv6_per_eni: int = 0

    def max_on_card(self, network_card_index: int = 0) -> int:
        """The most interfaces network card `network_card_index` takes."""
        return self.max_enis_per_card.get(network_card_index, self.max_enis)

    @classmethod
    def from_api(cls, raw: InstanceTypeInfoTypeDef) -> Limits:
        """Parse an `InstanceTypes` entry of DescribeInstanceTypes."""
        net = raw.get("NetworkInfo") or {}
        cards = {
            int(card.get("NetworkCardIndex", 0)): int(card["MaximumNetworkInterfaces"])
            for card in net.get("NetworkCards") or ()
            if "MaximumNetworkInterfaces" in card
        }
        return cls(
            instance_type=raw.get("InstanceType", ""),
            max_enis=int(net.get("MaximumNetworkInterfaces", 1)),
            max_enis_per_card=cards,
            ipv4_per_eni=int(net.get("Ipv4AddressesPerInterface", 1)),
            ipv6_per_eni=int(net.get("Ipv6AddressesPerInterface", 0))
            if net.get("Ipv6Supported", True)
            else 0,
        )


def _associated(state: object) -> bool:
    """An IPv6 range's association state is `associated` (moto shows the text of a dict,
    "{'State': 'associated'}")."""
    return state == "associated" or "'associated'" in str(state)


@dataclass(frozen=True)
class Subnet:
    """A subnet's address range and place."""

    subnet_id: str
    cidr: str
    availability_zone: str
    vpc_id: str
    #: Its IPv6 range, when it has one associated.
    ipv6_cidr: str | None = None

    @property
    def network(self) -> ipaddress.IPv4Network:
        """The subnet's IPv4 range."""
        return ipaddress.IPv4Network(self.cidr)

    @classmethod
    def from_api(cls, raw: SubnetTypeDef) -> Subnet:
        """Parse a `Subnets` entry of DescribeSubnets."""
        v6 = [
            a["Ipv6CidrBlock"]
            for a in raw.get("Ipv6CidrBlockAssociationSet") or ()
            if _associated((a.get("Ipv6CidrBlockState") or {}).get("State"))
        ]
        return cls(
            subnet_id=raw["SubnetId"],
            cidr=raw["CidrBlock"],
            availability_zone=raw.get("AvailabilityZone", ""),
            vpc_id=raw.get("VpcId", ""),
            ipv6_cidr=v6[0] if v6 else None,
        )


@dataclass(frozen=True)
class InstanceStatus:
    """An instance's status checks (`DescribeInstanceStatus`): each ``ok``, ``impaired``,
    ``insufficient-data``, ``initializing`` or ``not-applicable`` (not running)."""

    instance_id: str
    instance_check: str
    system_check: str

    @property
    def impaired(self) -> bool:
        """True when the instance or the system status check is failing."""
        return "impaired" in (self.instance_check, self.system_check)

    @property
    def unsettled(self) -> bool:
        """True when a check has no verdict yet (`initializing`, `insufficient-data`)."""
        return bool(
            {"initializing", "insufficient-data"} & {self.instance_check, self.system_check}
        )

    @classmethod
    def from_api(cls, raw: InstanceStatusTypeDef) -> InstanceStatus:
        """Parse an `InstanceStatuses` entry of DescribeInstanceStatus."""
        return cls(
            instance_id=raw["InstanceId"],
            instance_check=(raw.get("InstanceStatus") or {}).get("Status", "not-applicable"),
            system_check=(raw.get("SystemStatus") or {}).get("Status", "not-applicable"),
        )
