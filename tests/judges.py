"""What is well formed for each argument of the public functions, as `api.md` states it.

Written out independently of eniops' own parsers, so that the hostile-input tests judge
eniops by the contract rather than by itself.
"""

from __future__ import annotations

import math
import re
from typing import Any

_HEX = r"(?:[0-9a-f]{8}|[0-9a-f]{17})"
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
IPV4 = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}")


def _id(*prefixes: str) -> re.Pattern[str]:
    return re.compile(rf"(?:{'|'.join(prefixes)})-{_HEX}")


def _matches(pattern: re.Pattern[str]) -> Any:
    return lambda v: isinstance(v, str) and pattern.fullmatch(v) is not None


def _is_ip(v: object) -> bool:
    return isinstance(v, str) and IPV4.fullmatch(v) is not None


def _is_cidr(v: object) -> bool:
    if not isinstance(v, str):
        return False
    address, _, bits = v.partition("/")
    if not _is_ip(address) or (bits and not re.fullmatch(r"[0-9]{1,2}", bits)):
        return False
    prefix = int(bits) if bits else 32
    if prefix > 32:
        return False
    value = int.from_bytes(bytes(int(o) for o in address.split(".")), "big")
    return value & ((1 << (32 - prefix)) - 1) == 0  # host bits zero


def _is_bool(v: object) -> bool:
    return isinstance(v, bool)


def _whole(low: int, high: int) -> Any:
    return lambda v: type(v) is int and low <= v <= high


def _seconds(v: object) -> bool:
    return (
        isinstance(v, (int, float))
        and not isinstance(v, bool)
        and (not isinstance(v, float) or math.isfinite(v))
        and 0 < v < 86_400
    )


def _optional(judge: Any) -> Any:
    return lambda v: v is None or judge(v)


def _tag(v: object) -> bool:
    if not isinstance(v, str) or not v or v.startswith("="):
        return False
    key, _, value = v.partition("=")
    return (
        len(key) <= 128
        and len(value) <= 256
        and re.fullmatch(r"[\w .:/+\-@]+", key) is not None
        and re.fullmatch(r"[\w .:/=+\-@]*", value) is not None
    )


def _ips(v: object) -> bool:
    return isinstance(v, (list, tuple)) and bool(v) and all(_is_ip(i) for i in v)


#: What is well formed for each argument, as `api.md` states it.
JUDGES: dict[str, Any] = {
    "eip": lambda v: _matches(_id("eipalloc"))(v) or _is_ip(v),
    "to_instance": _matches(_id("i")),
    "instance": _matches(_id("i")),
    "from_instance": _matches(_id("i")),
    "to_eni": _matches(_id("eni")),
    "eni": _matches(_id("eni")),
    "target": _matches(_id("i", "eni")),
    "resource_id": lambda v: _matches(_id("i", "eni", "eipalloc"))(v) or _is_ip(v),
    "private_ip": _optional(_is_ip),
    "expect_current": lambda v: (
        v is None
        or v == "unassociated"
        or _matches(_id("i", "eni"))(v)
        # move_route's guard may also name another target of the route (tests/pure/test_plans)
        or _matches(_id("nat", "tgw", "pcx", "igw", "vgw", "eigw", "lgw", "cagw", "vpce"))(v)
    ),
    "destination": _is_cidr,
    "route_tables": lambda v: (
        v is None
        or (isinstance(v, (list, tuple)) and bool(v) and all(_matches(_id("rtb"))(t) for t in v))
    ),
    "ips": _ips,
    # failover_instance's floating IPs are optional: none is the default
    "failover_instance.ips": lambda v: v in ((), []) or _ips(v),
    "check_failover.ips": lambda v: v in ((), []) or _ips(v),
    # release_eip's guard is required: the holder it releases from, never "unassociated"
    "release_eip.expect_current": _matches(_id("i", "eni")),
    "count": lambda v: type(v) is int and v == 0,  # the base call names its IPs
    "device_index": _optional(_whole(0, 31)),
    "mode": lambda v: isinstance(v, str) and v in ("apply", "plan", "dry-run"),
    "timeout": _seconds,
    "region": _optional(lambda v: isinstance(v, str) and v in _botocore_regions()),
    # On the command line with --endpoint-url (which the hostile harness always passes), any
    # region name goes (a region newer than botocore: api.md), but it must be a name.
    "cli.region": _optional(_matches(re.compile(r"[a-z][a-z0-9-]{1,48}[a-z0-9]"))),
    "external_id": _optional(_matches(re.compile(r"[A-Za-z0-9_+=,.@:/-]{2,1224}"))),
    "role_arn": _optional(
        _matches(re.compile(r"arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9_+=,.@/-]{1,512}"))
    ),
    "require_tag": _optional(_tag),
    "ec2": lambda v: v is None,
    "session": lambda v: v is None,
}
for _flag in (
    "replace_eip",
    "force_detach",
    "allow_same_subnet",
    "rollback",
    "force",
    "allow_reassignment",
):
    JUDGES[_flag] = _is_bool


def _botocore_regions() -> set[str]:
    """Every region of botocore's partitions (pseudo-regions such as aws-global aside)."""
    from botocore.loaders import create_loader

    partitions = create_loader().load_data("partitions")["partitions"]
    return {r for p in partitions for r in p.get("regions", {}) if not r.endswith("-global")}


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


#: Command-line options and the argument each one carries.
OPTION_ARGUMENT = {
    "--to-instance": "to_instance",
    "--instance": "instance",
    "--to-eni": "to_eni",
    "--private-ip": "private_ip",
    "--expect-current": "expect_current",
    "--require-tag": "require_tag",
    "--region": "cli.region",
    "--role-arn": "role_arn",
    "--external-id": "external_id",
}


def cli_value_well_formed(option: str, positional: str | None, text: str) -> bool:
    """Is `text` well formed as the value of `option` (or as the positional argument)?"""
    if positional is not None:
        if positional == "destination":
            return _is_cidr(text) or _is_cidr(f"{text}/32")
        return bool(JUDGES[positional](text))
    if option == "--timeout":
        seconds = _number(text)
        return seconds is not None and _seconds(seconds)
    if option == "--device-index":
        try:
            return 0 <= int(text) <= 31
        except ValueError:
            return False
    if option == "--ips":
        return _is_ip(text)
    if option == "--route-tables":
        return _matches(_id("rtb"))(text)
    return bool(JUDGES[OPTION_ARGUMENT[option]](text))


#: CloudWatch's metric units, as the embedded metric format specification lists them.
EMF_UNITS = frozenset(
    [
        "Seconds",
        "Microseconds",
        "Milliseconds",
        "Bytes",
        "Kilobytes",
        "Megabytes",
        "Gigabytes",
        "Terabytes",
        "Bits",
        "Kilobits",
        "Megabits",
        "Gigabits",
        "Terabits",
        "Percent",
        "Count",
        "Bytes/Second",
        "Kilobytes/Second",
        "Megabytes/Second",
        "Gigabytes/Second",
        "Terabytes/Second",
        "Bits/Second",
        "Kilobits/Second",
        "Megabits/Second",
        "Gigabits/Second",
        "Terabits/Second",
        "Count/Second",
        "None",
    ]
)


def emf_problems(line: dict[str, Any]) -> list[str]:
    """What makes `line` not a CloudWatch embedded-metric-format document, by the
    specification: a root `_aws` with an integer `Timestamp` (ms) and `CloudWatchMetrics`
    directives, each with a `Namespace` (1-255 characters), `Dimensions` (dimension sets of at
    most 30 keys, each key a string member of the root) and `Metrics` (at most 100, each named
    by a numeric member of the root, with a known unit). Empty: well formed."""
    problems: list[str] = []
    meta = line.get("_aws")
    if not isinstance(meta, dict):
        return ["no _aws object"]
    if type(meta.get("Timestamp")) is not int or meta["Timestamp"] <= 0:
        problems.append("Timestamp is not epoch milliseconds")
    directives = meta.get("CloudWatchMetrics")
    if not isinstance(directives, list) or not directives:
        return [*problems, "no CloudWatchMetrics directive"]
    for directive in directives:
        namespace = directive.get("Namespace")
        if not isinstance(namespace, str) or not 1 <= len(namespace) <= 255:
            problems.append(f"Namespace {namespace!r}")
        for dimension_set in directive.get("Dimensions", []):
            if not isinstance(dimension_set, list) or len(dimension_set) > 30:
                problems.append(f"dimension set {dimension_set!r}")
                continue
            for key in dimension_set:
                if not isinstance(line.get(key), str):
                    problems.append(f"dimension {key!r} is not a string member of the root")
        metrics = directive.get("Metrics")
        if not isinstance(metrics, list) or not 1 <= len(metrics) <= 100:
            problems.append("Metrics is not a list of 1 to 100 definitions")
            continue
        for metric in metrics:
            name, unit = metric.get("Name"), metric.get("Unit", "None")
            value = line.get(name)
            if not isinstance(name, str) or isinstance(value, bool):
                problems.append(f"metric {name!r}")
            elif not isinstance(value, (int, float)):
                problems.append(f"metric {name!r} has no numeric member of the root")
            if unit not in EMF_UNITS:
                problems.append(f"metric {name!r}: unit {unit!r}")
    return problems
