"""Parsing of resource ids, IP addresses and guard arguments. Pure: no AWS here.

Everything malformed raises `InvalidInput` before any AWS call is made.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, cast
from urllib.parse import urlsplit

from ._errors import InvalidInput

if TYPE_CHECKING:
    from boto3.session import Session
    from mypy_boto3_ec2 import EC2Client

#: `expect_current` value meaning "only if nobody holds it".
UNASSOCIATED = "unassociated"

ResourceKind = Literal["instance", "eni", "eip"]

_HEX = r"(?:[0-9a-f]{8}|[0-9a-f]{17})"
_PATTERNS = {
    "i": re.compile(rf"i-{_HEX}"),
    "eni": re.compile(rf"eni-{_HEX}"),
    "eipalloc": re.compile(rf"eipalloc-{_HEX}"),
    "eni-attach": re.compile(rf"eni-attach-{_HEX}"),
}
_DESCRIPTIONS = {
    "i": "an instance id (i- and 8 or 17 hex digits)",
    "eni": "an ENI id (eni- and 8 or 17 hex digits)",
    "eipalloc": "an allocation id (eipalloc- and 8 or 17 hex digits)",
    "eni-attach": "an attachment id (eni-attach- and 8 or 17 hex digits)",
}


def _parse(prefix: str, value: object, argument: str) -> str:
    if not isinstance(value, str) or not _PATTERNS[prefix].fullmatch(value):
        raise InvalidInput(
            f"{argument}: {value!r} is not {_DESCRIPTIONS[prefix]}",
            details={"argument": argument, "value": repr(value)},
        )
    return value


def instance_id(value: object, argument: str = "instance") -> str:
    """Return `value` if it is an instance id, else raise `InvalidInput`."""
    return _parse("i", value, argument)


def eni_id(value: object, argument: str = "eni") -> str:
    """Return `value` if it is an ENI id, else raise `InvalidInput`."""
    return _parse("eni", value, argument)


def allocation_id(value: object, argument: str = "eip") -> str:
    """Return `value` if it is an Elastic IP allocation id, else raise `InvalidInput`."""
    return _parse("eipalloc", value, argument)


def attachment_id(value: object, argument: str = "attachment") -> str:
    """Return `value` if it is an ENI attachment id, else raise `InvalidInput`."""
    return _parse("eni-attach", value, argument)


def ipv4(value: object, argument: str = "ip") -> str:
    """Return the canonical text of an IPv4 address, else raise `InvalidInput`."""
    return _address(value, argument, 4)


def ipv6(value: object, argument: str = "ip") -> str:
    """Return the canonical (compressed, lower-case) text of an IPv6 address, else raise."""
    return _address(value, argument, 6)


def _address(value: object, argument: str, version: int) -> str:
    # A zone index ("fe80::1%eth0") names an interface of this host, never an EC2 address.
    if isinstance(value, str) and "%" not in value:
        try:
            parsed = ipaddress.ip_address(value)
            if parsed.version == version:
                return str(parsed)
        except ValueError:
            pass
    raise InvalidInput(
        f"{argument}: {value!r} is not an IPv{version} address",
        details={"argument": argument, "value": repr(value)},
    )


def ip(value: object, argument: str = "ip") -> str:
    """Parse an IPv4 or an IPv6 address into its canonical text."""
    return (ipv6 if isinstance(value, str) and ":" in value else ipv4)(value, argument)


def ip_list(values: object, argument: str = "ips") -> tuple[str, ...]:
    """Parse a sequence of IPv4 and IPv6 addresses, dropping repeats but keeping order."""
    if isinstance(values, str) or not isinstance(values, (list, tuple, set, frozenset)):
        raise InvalidInput(
            f"{argument}: expected a list of IP addresses, got {type(values).__name__}",
            details={"argument": argument},
        )
    return tuple(dict.fromkeys(ip(value, argument) for value in values))


def is_ipv6(ip: str) -> bool:
    """True for an IPv6 address (as parsed here)."""
    return ":" in ip


@dataclass(frozen=True)
class EipRef:
    """An Elastic IP named by allocation id or by public address."""

    allocation_id: str | None = None
    public_ip: str | None = None

    def __str__(self) -> str:
        return self.allocation_id or self.public_ip or ""


def eip(value: object, argument: str = "eip") -> EipRef:
    """Parse an allocation id or a public IPv4 address."""
    if isinstance(value, str) and value.startswith("eipalloc-"):
        return EipRef(allocation_id=allocation_id(value, argument))
    if isinstance(value, str) and value[:1].isdigit():
        return EipRef(public_ip=ipv4(value, argument))
    raise InvalidInput(
        f"{argument}: {value!r} is neither an allocation id nor a public IPv4 address",
        details={"argument": argument, "value": repr(value)},
    )


def eni_or_instance(value: object, argument: str) -> tuple[Literal["instance", "eni"], str]:
    """Parse an id that may name an instance or an ENI."""
    if isinstance(value, str) and value.startswith("i-"):
        return "instance", instance_id(value, argument)
    if isinstance(value, str) and value.startswith("eni-"):
        return "eni", eni_id(value, argument)
    raise InvalidInput(
        f"{argument}: {value!r} is neither an instance id nor an ENI id",
        details={"argument": argument, "value": repr(value)},
    )


def resource(value: object, argument: str = "resource_id") -> tuple[ResourceKind, str]:
    """Parse the id `describe` and `show` take: an instance, an ENI or an Elastic IP."""
    if isinstance(value, str) and (value.startswith("eipalloc-") or value[:1].isdigit()):
        ref = eip(value, argument)
        return "eip", str(ref)
    return eni_or_instance(value, argument)


def expect_current(value: object, argument: str = "expect_current") -> str | None:
    """Parse `expect_current`: None, an instance id, an ENI id or `UNASSOCIATED`."""
    if value is None or value == UNASSOCIATED:
        return value
    return eni_or_instance(value, argument)[1]


#: What else a route may target (NAT, transit and local gateways, peerings, internet,
#: egress-only, virtual private and carrier gateways, Gateway Load Balancer endpoints, or a
#: Cloud WAN core network).
_ROUTE_TARGET = re.compile(
    rf"(?:nat|tgw|pcx|igw|vgw|eigw|lgw|cagw|vpce)-{_HEX}"
    r"|arn:aws[a-z-]*:networkmanager::[0-9]{12}:core-network/core-network-[0-9a-f]{17}"
)


def route_expect_current(value: object, argument: str = "expect_current") -> str | None:
    """`move_route`'s guard: as `expect_current`, or the id of any other target a route may
    have (a NAT gateway, a transit gateway, ...), which only a guarded move replaces."""
    if isinstance(value, str) and _ROUTE_TARGET.fullmatch(value):
        return value
    return expect_current(value, argument)


@dataclass(frozen=True)
class TagGuard:
    """`require_tag`: a tag key, optionally with the value it must have."""

    key: str
    value: str | None = None

    def matches(self, tags: dict[str, str]) -> bool:
        """True when `tags` carry the key (and the value, if one is required)."""
        if self.key not in tags:
            return False
        return self.value is None or tags[self.key] == self.value

    def __str__(self) -> str:
        return self.key if self.value is None else f"{self.key}={self.value}"


#: What EC2 allows in a tag key and value (any language's letters and digits).
_TAG_KEY = re.compile(r"[\w .:/+\-@]+")
_TAG_VALUE = re.compile(r"[\w .:/=+\-@]*")


def tag_guard(value: object, argument: str = "require_tag") -> TagGuard | None:
    """Parse `"key"` or `"key=value"`; None means no guard."""
    if value is None:
        return None
    if not isinstance(value, str) or not value or value.startswith("="):
        raise InvalidInput(
            f"{argument}: {value!r} is not 'key' or 'key=value'",
            details={"argument": argument, "value": repr(value)},
        )
    key, sep, tag_value = value.partition("=")
    if len(key) > 128 or len(tag_value) > 256:
        raise InvalidInput(f"{argument}: tag key or value too long", details={"argument": argument})
    if not _TAG_KEY.fullmatch(key) or not _TAG_VALUE.fullmatch(tag_value):
        raise InvalidInput(
            f"{argument}: {value!r} has characters EC2 tags cannot hold "
            "(letters, digits, spaces and _ . : / = + - @)",
            details={"argument": argument, "value": repr(value)},
        )
    return TagGuard(key, tag_value if sep else None)


#: The longest `timeout` eniops takes: a day.
MAX_TIMEOUT_S = 86_400


def timeout(value: object, argument: str = "timeout") -> float:
    """Parse a timeout in seconds: a positive finite number under a day."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidInput(f"{argument}: {value!r} is not a number of seconds")
    if isinstance(value, int) and not 0 < value < MAX_TIMEOUT_S:  # no float() of a huge int
        raise InvalidInput(f"{argument}: {value!r} must be more than 0 and less than a day")
    seconds = float(value)
    if not 0 < seconds < MAX_TIMEOUT_S:  # NaN fails this too
        raise InvalidInput(f"{argument}: {value!r} must be more than 0 and less than a day")
    return seconds


def device_index(value: object, argument: str = "device_index") -> int | None:
    """Parse an optional device index (0 to 31)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 31:
        raise InvalidInput(f"{argument}: {value!r} is not a device index from 0 to 31")
    return value


def count(value: object, argument: str = "count") -> int:
    """Parse a count of addresses to pick (0 to 50)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 50:
        raise InvalidInput(f"{argument}: {value!r} is not a whole number from 0 to 50")
    return value


def mode(value: object) -> Literal["apply", "plan", "dry-run"]:
    """Parse the `mode` keyword."""
    if value == "apply":
        return "apply"
    if value == "plan":
        return "plan"
    if value == "dry-run":
        return "dry-run"
    raise InvalidInput(f"mode: {value!r} is not 'apply', 'plan' or 'dry-run'")


def flag(value: object, argument: str) -> bool:
    """Parse a True/False keyword (no truthy strings: "false" is not False)."""
    if not isinstance(value, bool):
        raise InvalidInput(f"{argument}: {value!r} is not True or False")
    return value


_REGION_NAME = re.compile(r"[a-z][a-z0-9-]{1,48}[a-z0-9]")
#: A zone's name (``us-east-1a``, ``us-west-2-lax-1a``) or id (``use1-az1``, ``usw2-lax1-az1``).
_ZONE = re.compile(r"[a-z]{2,}[a-z0-9]*(?:-[a-z0-9]+)+", re.ASCII)


def pairs(value: object, argument: str = "pairs") -> dict[str, str]:
    """Parse pairs: a mapping of instance id to its standby's id, none its own standby."""
    if not isinstance(value, Mapping):
        raise InvalidInput(
            f"{argument} is not a mapping of instance id to standby id",
            details={"argument": argument},
        )
    found = {
        instance_id(k, f"{argument} key"): instance_id(v, f"{argument}[{k}]")
        for k, v in value.items()
    }
    same = sorted(k for k, v in found.items() if k == v)
    if same:
        raise InvalidInput(
            f"{argument}: {same[0]} is named as its own standby", details={"argument": argument}
        )
    return found


def pairs_file(path: object, argument: str = "--pairs") -> dict[str, str]:
    """Parse a file of pairs: a JSON object of instance id to standby id."""
    # Lazy: json (2 ms of `import eniops`) only for a file of pairs.
    import json  # noqa: PLC0415

    try:
        text = Path(str(path)).read_text(encoding="utf-8")
        return pairs(json.loads(text), argument)
    except OSError as err:
        raise InvalidInput(
            f"{argument}: {err.strerror}: {path}", details={"argument": argument}
        ) from err
    except ValueError as err:
        if isinstance(err, InvalidInput):
            raise
        raise InvalidInput(
            f"{argument}: {path} is not JSON: {err}", details={"argument": argument}
        ) from err


#: An EC2 resource's id (``i-…``, ``vol-…``, ``eni-attach-…``): never a zone, though one parses.
_RESOURCE_ID = re.compile(rf"[a-z]+(?:-[a-z]+)*-{_HEX}")


def names_a_zone(value: object) -> bool:
    """Whether `value` (a field of an event, which may name anything) reads as a zone's name
    or id: `zone` would take it, and it is not a resource's id."""
    return (
        isinstance(value, str)
        and len(value) <= 64
        and _ZONE.fullmatch(value) is not None
        and _RESOURCE_ID.fullmatch(value) is None
    )


def zone(value: object, argument: str = "zone") -> str:
    """Parse an availability zone's name or id (whether the Region has it is read later)."""
    if not isinstance(value, str) or len(value) > 64 or not _ZONE.fullmatch(value):
        raise InvalidInput(
            f"{argument}: {str(value)[:80]!r} is not an availability zone's name "
            "(us-east-1a) or id (use1-az1)",
            details={"argument": argument, "value": repr(value)[:80]},
        )
    return value


def region(value: object, known: Collection[str] | None, argument: str = "region") -> str | None:
    """Parse an AWS region name among the `known` ones (botocore's: `_gateway`; None: any
    name of a region's shape, for an endpoint named by URL); None means the session's. A
    name not known is refused with the closest ones."""
    if value is None:
        return None
    if isinstance(value, str) and (
        value in known if known is not None else _REGION_NAME.fullmatch(value)
    ):
        return value
    if known is None:
        raise InvalidInput(
            f"{argument}: {str(value)[:80]!r} is not a region name",
            details={"argument": argument, "value": repr(value)[:80]},
        )
    # Lazy: difflib (1 ms of `import eniops`'s 10) only for a name not known, to suggest the
    # closest.
    import difflib  # noqa: PLC0415

    close = difflib.get_close_matches(value, sorted(known), n=3) if isinstance(value, str) else []
    hint = f"; did you mean {' or '.join(close)}?" if close else " such as 'us-east-1'"
    newer = " (a region newer than this botocore needs a newer botocore, or --endpoint-url)"
    raise InvalidInput(
        f"{argument}: {value!r} is not a region botocore knows{hint}{newer}",
        details={"argument": argument, "value": repr(value), "closest": close},
    )


_EXTERNAL_ID = re.compile(r"[\w+=,.@:/-]{2,1224}", re.ASCII)
_ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9_+=,.@/-]{1,512}")


def external_id(value: object, argument: str = "external_id") -> str | None:
    """Parse the external id of a role to assume (STS: 2 to 1224 of ``\\w+=,.@:/-``)."""
    what = "an external id (2 to 1224 letters, digits or +=,.@:/-)"
    return _optional_text(value, argument, _EXTERNAL_ID, what)


def role_arn(value: object, argument: str = "role_arn") -> str | None:
    """Parse an IAM role ARN to assume; None means no role."""
    what = "an IAM role ARN (arn:aws:iam::123456789012:role/name)"
    return _optional_text(value, argument, _ROLE_ARN, what)


def _optional_text(value: object, argument: str, pattern: re.Pattern[str], what: str) -> str | None:
    """`value` if it matches `pattern` (None stays None); the error does not repeat an
    external id, which is half a secret."""
    if value is None:
        return None
    if not isinstance(value, str) or not pattern.fullmatch(value):
        shown = repr(value) if argument != "external_id" else "the value"
        raise InvalidInput(
            f"{argument}: {shown} is not {what}",
            details={"argument": argument, "value": repr(value)},
        )
    return value


def ec2_client(value: object, argument: str = "ec2") -> EC2Client | None:
    """Accept None or something shaped like a boto3 EC2 client."""
    meta = getattr(value, "meta", None)
    service = getattr(getattr(meta, "service_model", None), "service_name", None)
    fits = service == "ec2" and hasattr(meta, "events")
    return cast(
        "EC2Client | None",
        _shaped(value, argument, fits, "a boto3 EC2 client (boto3.client('ec2'))"),
    )


def boto3_session(value: object, argument: str = "session") -> Session | None:
    """Accept None or something shaped like a boto3 session."""
    fits = callable(getattr(value, "client", None)) and hasattr(value, "get_credentials")
    return cast("Session | None", _shaped(value, argument, fits, "a boto3 session"))


def _shaped(value: object, argument: str, fits: bool, what: str) -> object:
    if value is not None and not fits:
        raise InvalidInput(
            f"{argument}: {type(value).__name__} is not {what}", details={"argument": argument}
        )
    return value


def cidr(value: object, argument: str = "destination") -> str:
    """Parse an IPv4 or IPv6 CIDR (a bare address means one host: /32, /128) into its
    canonical text."""
    if isinstance(value, str) and value and (value[:1].isdigit() or ":" in value):
        host = "/128" if ":" in value else "/32"
        try:
            return str(ipaddress.ip_network(value if "/" in value else value + host))
        except ValueError:
            pass
    raise InvalidInput(
        f"{argument}: {value!r} is not a CIDR such as '192.168.100.10/32' or '2001:db8::10/128' "
        "(with its host bits zero; a bare address means one host)",
        details={"argument": argument, "value": repr(value)},
    )


def endpoint_url(value: object, argument: str = "endpoint_url") -> str | None:
    """Parse an endpoint URL: ``http(s)://host[:port][/path]``; None means AWS's own."""
    if value is None:
        return None

    text = value if isinstance(value, str) else ""
    try:
        parts = urlsplit(text)
        port = parts.port  # a malformed port raises here
    except ValueError:
        port, parts = -1, urlsplit("")
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or not text.isascii()
        or any(c.isspace() for c in text)
        or port == -1
    ):
        raise InvalidInput(
            f"{argument}: {value!r} is not an http(s) URL such as "
            "'https://ec2.eu-west-1.amazonaws.com'",
            details={"argument": argument, "value": repr(value)},
        )
    return text


_RTB = re.compile(rf"rtb-{_HEX}")


def route_table_ids(value: object, argument: str = "route_tables") -> tuple[str, ...] | None:
    """Parse None (every table that routes the destination) or a list of route table ids."""
    if value is None:
        return None
    if isinstance(value, str) or not isinstance(value, (list, tuple)) or not value:
        raise InvalidInput(
            f"{argument}: expected a non-empty list of route table ids, got {value!r}",
            details={"argument": argument},
        )
    for item in value:
        if not isinstance(item, str) or not _RTB.fullmatch(item):
            raise InvalidInput(
                f"{argument}: {item!r} is not a route table id (rtb- and 8 or 17 hex digits)",
                details={"argument": argument, "value": repr(item)},
            )
    return tuple(dict.fromkeys(value))
