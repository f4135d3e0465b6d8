"""The tags eniops writes on the resources it moves, and reads back as hints.

`eniops:move` records a move's intent on an ENI before its detach; `eniops:ip-move` records,
on the ENI that receives them, IPv6 addresses on their way from another ENI; `eniops:holder`
records where an Elastic IP or an ENI was placed. Pure: parsing and formatting only.
"""

from __future__ import annotations

import ipaddress
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar, TypeVar


def tag_dict(raw: object) -> dict[str, str]:
    """A describe's `Tags`/`TagSet` list as a dict (none: empty)."""
    if not isinstance(raw, (list, tuple)):
        return {}
    return {
        str(tag["Key"]): str(tag.get("Value", ""))
        for tag in raw
        if isinstance(tag, Mapping) and "Key" in tag
    }


#: The tag a move writes on an ENI before its detach and removes after the verified attach.
MOVE_TAG = "eniops:move"
#: The tag written on an Elastic IP or ENI after every successful change: who holds it now.
HOLDER_TAG = "eniops:holder"
#: The tag an IPv6 move writes on the receiving ENI before the unassign (EC2 cannot reassign
#: IPv6 in one call) and removes after the verified assign.
IP_MOVE_TAG = "eniops:ip-move"
#: The tag keys of ENI moves and placements (what a failover looks for).
ENIOPS_TAGS = (MOVE_TAG, HOLDER_TAG)
#: The tag of an instance naming the private IPs (IPv4 or IPv6, separated by spaces) its
#: failover by the Lambda moves, as `failover_instance(ips=…)` does. Set by people.
FLOATING_IPS_TAG = "eniops:floating-ips"


_V = TypeVar("_V", bound="_TagValue")


class _TagValue(ABC):
    """A value eniops writes in one of its tags and reads back as a hint: `format` writes
    it, `parse` reads it (None when it is absent or not eniops' format)."""

    _pattern: ClassVar[re.Pattern[str]]

    @abstractmethod
    def format(self) -> str:
        """The tag value, as the contract writes it."""

    @classmethod
    def parse(cls: type[_V], value: str | None) -> _V | None:
        """What a tag value records, or None if it is absent or not eniops' format."""
        found = cls._pattern.fullmatch(value or "")
        return None if found is None else cls._read(found)

    @classmethod
    @abstractmethod
    def _read(cls: type[_V], found: re.Match[str]) -> _V | None:
        """The value the pattern matched (None if a part of it does not read)."""


@dataclass(frozen=True)
class MoveIntent(_TagValue):
    """The `eniops:move` tag: an ENI move that was started and not yet verified."""

    source: str
    target: str
    device_index: int
    delete_on_termination: bool

    key: ClassVar[str] = MOVE_TAG
    _pattern: ClassVar[re.Pattern[str]] = re.compile(
        r"from=(?P<source>i-[0-9a-f]+) to=(?P<target>i-[0-9a-f]+) "
        r"index=(?P<index>[0-9]+) dot=(?P<dot>true|false)"
    )

    def format(self) -> str:
        dot = "true" if self.delete_on_termination else "false"
        return f"from={self.source} to={self.target} index={self.device_index} dot={dot}"

    @classmethod
    def _read(cls, found: re.Match[str]) -> MoveIntent:
        return cls(
            source=found["source"],
            target=found["target"],
            device_index=int(found["index"]),
            delete_on_termination=found["dot"] == "true",
        )


@dataclass(frozen=True)
class IpMoveIntent(_TagValue):
    """The `eniops:ip-move` tag: IPv6 addresses being moved from `source` (an ENI) to the
    tagged ENI; while they are on no ENI, they count as held by `source`."""

    source: str
    ips: tuple[str, ...]

    key: ClassVar[str] = IP_MOVE_TAG
    _pattern: ClassVar[re.Pattern[str]] = re.compile(
        r"from=(?P<source>eni-[0-9a-f]{8,17}) ips=(?P<ips>[0-9a-f:,]{2,800})"
    )

    def format(self) -> str:
        return f"from={self.source} ips={','.join(self.ips)}"

    @classmethod
    def _read(cls, found: re.Match[str]) -> IpMoveIntent | None:
        try:
            ips = tuple(str(ipaddress.IPv6Address(ip)) for ip in found["ips"].split(","))
        except ValueError:
            return None
        return cls(found["source"], ips)


@dataclass(frozen=True)
class HolderTag(_TagValue):
    """The `eniops:holder` tag: where eniops last placed an Elastic IP or an ENI.

    ``"<instance> ip=<private ip>"`` for an address, ``"<instance> index=<n>"`` for an ENI; a
    bare ``"<instance>"`` (written by older versions) reads with neither recorded.
    """

    instance_id: str
    private_ip: str | None = None
    device_index: int | None = None

    key: ClassVar[str] = HOLDER_TAG
    _pattern: ClassVar[re.Pattern[str]] = re.compile(
        r"(?P<instance>i-(?:[0-9a-f]{8}|[0-9a-f]{17}))"
        r"(?: ip=(?P<ip>[0-9a-fA-F.:]{2,45})| index=(?P<index>[0-9]{1,6}))?"
    )

    def format(self) -> str:
        if self.private_ip is not None:
            return f"{self.instance_id} ip={self.private_ip}"
        if self.device_index is not None:
            return f"{self.instance_id} index={self.device_index}"
        return self.instance_id

    @classmethod
    def _read(cls, found: re.Match[str]) -> HolderTag | None:
        ip = found["ip"]
        if ip is not None:
            try:
                ip = str(ipaddress.ip_address(ip))
            except ValueError:
                return None
        index = found["index"]
        return cls(found["instance"], ip, int(index) if index is not None else None)


def address_holder(instance_id: str | None, private_ip: str) -> str | None:
    """The `eniops:holder` value of an Elastic IP on `private_ip` of `instance_id` (None: on
    no instance, so the tag is removed)."""
    return HolderTag(instance_id, private_ip=private_ip).format() if instance_id else None
