"""Parsing ids, addresses and guards: malformed input fails before any AWS call."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support import NoCalls

import eniops
from eniops._core import _inputs

VALID = {
    "instance": ["i-0123abcd", "i-0123456789abcdef0"],
    "eni": ["eni-0123abcd", "eni-0123456789abcdef0"],
    "allocation": ["eipalloc-0123abcd", "eipalloc-0123456789abcdef0"],
    "attachment": ["eni-attach-0123abcd", "eni-attach-0123456789abcdef0"],
}
INVALID = [
    "",
    "i-",
    "i-123",
    "i-0123ABCD",
    "i-0123abcdx",
    "i-0123456789abcdef",
    "eni-0123abcd ",
    " i-0123abcd",
    "i-0123abcd\n",
    "x-0123abcd",
    "i_0123abcd",
    "i-0123456789abcdef01",
]


@pytest.mark.parametrize("value", VALID["instance"], ids=str)
def test_instance_ids_of_both_lengths_parse(value):
    """8- and 17-hex-digit instance ids are accepted as given."""
    assert _inputs.instance_id(value) == value


@pytest.mark.parametrize("value", INVALID, ids=repr)
def test_malformed_instance_ids_are_refused(value):
    """Wrong prefix, case, length or stray whitespace raises InvalidInput."""
    with pytest.raises(eniops.InvalidInput):
        _inputs.instance_id(value)


@pytest.mark.parametrize(
    ("parse", "value"),
    [(_inputs.eni_id, v) for v in VALID["eni"]]
    + [(_inputs.allocation_id, v) for v in VALID["allocation"]]
    + [(_inputs.attachment_id, v) for v in VALID["attachment"]],
    ids=lambda v: v if isinstance(v, str) else v.__name__,
)
def test_other_ids_parse(parse, value):
    """ENI, allocation and attachment ids parse by prefix and shape."""
    assert parse(value) == value


def test_prefixes_are_not_interchangeable():
    """An ENI id is not an instance id, and an attachment id is not an ENI id."""
    with pytest.raises(eniops.InvalidInput):
        _inputs.instance_id("eni-0123abcd")
    with pytest.raises(eniops.InvalidInput):
        _inputs.eni_id("eni-attach-0123abcd")


@pytest.mark.parametrize("value", ["10.0.0.1", "203.0.113.9"])
def test_ipv4_parses(value):
    """Dotted-quad IPv4 addresses are accepted."""
    assert _inputs.ipv4(value) == value


@pytest.mark.parametrize("value", ["10.0.0", "10.0.0.256", "010.0.0.1", "::1", "10.0.0.1/32", 10])
def test_bad_ipv4_is_refused(value):
    """Short, out-of-range, zero-padded, IPv6, CIDR or non-string values are refused."""
    with pytest.raises(eniops.InvalidInput):
        _inputs.ipv4(value)


def test_eip_by_allocation_or_public_ip():
    """An Elastic IP is named by allocation id or by public address."""
    assert _inputs.eip("eipalloc-0123abcd").allocation_id == "eipalloc-0123abcd"
    assert _inputs.eip("198.51.100.7").public_ip == "198.51.100.7"


@pytest.mark.parametrize("value", ["key", "key=value", "a=b=c"])
def test_tag_guard_forms(value):
    """require_tag takes 'key' or 'key=value' (the value may contain '=')."""
    guard = _inputs.tag_guard(value)
    assert guard is not None
    assert str(guard) == value


def test_tag_guard_matching():
    """A key-only guard needs the key; a key=value guard needs the value too."""
    assert _inputs.TagGuard("role").matches({"role": "x"})
    assert not _inputs.TagGuard("role", "db").matches({"role": "web"})
    assert not _inputs.TagGuard("role").matches({})


@pytest.mark.parametrize("value", ["", "=x", 3])
def test_bad_tag_guards(value):
    """An empty key or a non-string is refused."""
    with pytest.raises(eniops.InvalidInput):
        _inputs.tag_guard(value)


@pytest.mark.parametrize("value", [0, -1, float("nan"), "5", True, 86_400])
def test_bad_timeouts(value):
    """Timeouts must be positive numbers under a day."""
    with pytest.raises(eniops.InvalidInput):
        _inputs.timeout(value)


def test_expect_current_accepts_unassociated():
    """expect_current is an instance id, an ENI id or the UNASSOCIATED sentinel."""
    assert _inputs.expect_current(eniops.UNASSOCIATED) == "unassociated"
    assert _inputs.expect_current("i-0123abcd") == "i-0123abcd"
    with pytest.raises(eniops.InvalidInput):
        _inputs.expect_current("nobody")


OPERATIONS = [
    lambda v, c: eniops.remap_eip(v, to_instance="i-0123abcd", ec2=c),
    lambda v, c: eniops.remap_eip("eipalloc-0123abcd", to_instance=v, ec2=c),
    lambda v, c: eniops.remap_eip("eipalloc-0123abcd", to_eni="eni-0123abcd", private_ip=v, ec2=c),
    lambda v, c: eniops.remap_eip(
        "eipalloc-0123abcd", to_eni="eni-0123abcd", expect_current=v, ec2=c
    ),
    lambda v, c: eniops.move_eni(v, to_instance="i-0123abcd", ec2=c),
    lambda v, c: eniops.move_eni("eni-0123abcd", to_instance=v, ec2=c),
    lambda v, c: eniops.attach_eni(v, instance="i-0123abcd", ec2=c),
    lambda v, c: eniops.detach_eni(v, ec2=c),
    lambda v, c: eniops.add_secondary_ips(v, count=1, ec2=c),
    lambda v, c: eniops.add_secondary_ips("eni-0123abcd", ips=[v], ec2=c),
    lambda v, c: eniops.remove_secondary_ips("eni-0123abcd", ips=[v], ec2=c),
    lambda v, c: eniops.failover_instance(v, to_instance="i-0123abcd", ec2=c),
    lambda v, c: eniops.describe(v, ec2=c),
]


@settings(max_examples=80, deadline=None)
@given(
    value=st.one_of(
        st.text(max_size=30),
        st.from_regex(r"(i|eni|eipalloc)-[0-9a-fA-Fxg]{0,20}", fullmatch=True),
        st.from_regex(r"[0-9]{1,4}(\.[0-9]{1,4}){0,4}", fullmatch=True),
        st.integers(),
        st.lists(st.text(max_size=3), max_size=2),
    ).filter(lambda v: not _well_formed(v)),
    operation=st.sampled_from(range(len(OPERATIONS))),
)
def test_malformed_input_never_reaches_aws(value, operation):
    """Any malformed id or IP raises InvalidInput and makes zero AWS calls."""
    client = NoCalls()
    with pytest.raises(eniops.InvalidInput):
        OPERATIONS[operation](value, client)
    assert client.calls == []


def _well_formed(value):
    if not isinstance(value, str):
        return False
    if value == eniops.UNASSOCIATED:
        return True
    for parse in (_inputs.instance_id, _inputs.eni_id, _inputs.allocation_id, _inputs.ipv4):
        try:
            parse(value)
            return True
        except eniops.InvalidInput:
            continue
    return False


@pytest.mark.parametrize(
    "call",
    [
        lambda c: eniops.remap_eip("eipalloc-0123abcd", ec2=c),
        lambda c: eniops.remap_eip(
            "eipalloc-0123abcd", to_instance="i-0123abcd", to_eni="eni-0123abcd", ec2=c
        ),
        lambda c: eniops.remap_eip(
            "eipalloc-0123abcd", to_instance="i-0123abcd", mode="yolo", ec2=c
        ),
        lambda c: eniops.add_secondary_ips("eni-0123abcd", ec2=c),
        lambda c: eniops.add_secondary_ips("eni-0123abcd", ips=["10.0.0.9"], count=1, ec2=c),
        lambda c: eniops.add_secondary_ips(
            "eni-0123abcd", ips=["10.0.0.9"], expect_current="i-0123abcd", ec2=c
        ),
        lambda c: eniops.remove_secondary_ips("eni-0123abcd", ips=[], ec2=c),
        lambda c: eniops.move_eni("eni-0123abcd", to_instance="i-0123abcd", device_index=40, ec2=c),
        lambda c: eniops.move_eni("eni-0123abcd", to_instance="i-0123abcd", rollback="no", ec2=c),
        lambda c: eniops.failover_instance("i-0123abcd", to_instance="i-0123abcd", ec2=c),
        lambda c: eniops.detach_eni("eni-0123abcd", timeout=0, ec2=c),
    ],
    ids=[
        "no-target",
        "two-targets",
        "bad-mode",
        "ips-or-count",
        "ips-and-count",
        "expect-without-reassignment",
        "no-ips",
        "device-index",
        "bool-flag",
        "same-instance",
        "zero-timeout",
    ],
)
def test_bad_argument_mixes_fail_before_any_call(call, no_calls):
    """Argument mixes the contract forbids raise InvalidInput with no AWS call."""
    with pytest.raises(eniops.InvalidInput):
        call(no_calls)
    assert no_calls.calls == []


def test_the_command_line_takes_ipv6_addresses_in_canonical_form():
    """`ip add … --ip` takes both families (canonical once parsed); a zone index or a
    network is refused before any call."""
    from eniops._core import _inputs
    from eniops.cli import _parser as _cli_parser

    parser = _cli_parser.build_parser()
    args = parser.parse_args(
        ["ip", "add", "i-0123456789abcdef0", "--ip", "2001:DB8:0:0::10", "--ip", "10.0.1.5"]
    )
    assert _inputs.ip_list(args.ips) == ("2001:db8::10", "10.0.1.5")
    for bad in ("fe80::1%eth0", "2001:db8::/64"):
        with pytest.raises(SystemExit):
            parser.parse_args(["ip", "add", "i-0123456789abcdef0", "--ip", bad])


def test_regions_are_botocores():
    """Every region botocore lists for EC2, in every partition, is a region (the EU
    sovereign cloud's too); a typo is refused with the closest names."""
    import botocore.session

    session = botocore.session.get_session()
    listed = {
        name
        for partition in session.get_available_partitions()
        for name in session.get_available_regions("ec2", partition_name=partition)
    }
    assert listed
    from eniops._gateway import known_regions

    known = known_regions()
    for name in sorted(listed):
        assert _inputs.region(name, known) == name
    if "eusc-de-east-1" in listed:
        assert _inputs.region("eusc-de-east-1", known) == "eusc-de-east-1"
    with pytest.raises(eniops.InvalidInput) as caught:
        _inputs.region("eu-wset-1", known)
    assert "eu-west-1" in caught.value.details["closest"]
    assert "did you mean eu-west-1" in caught.value.message
    for bad in ("aws-global", "", "us-east-1 ", 1):
        with pytest.raises(eniops.InvalidInput):
            _inputs.region(bad, known)


@pytest.mark.parametrize("name", ["eu-newregion-9", "us-east-1"])
def test_with_an_endpoint_url_any_region_name_is_taken(name):
    """No list to check against (the endpoint is named by URL): a region name is taken."""
    assert _inputs.region(name, None, "--region") == name


@pytest.mark.parametrize("name", ["", "US EAST 1", "-x", "eu_west_1", "x" * 60, 7])
def test_even_with_an_endpoint_url_a_region_must_be_a_name(name):
    with pytest.raises(eniops.InvalidInput):
        _inputs.region(name, None, "--region")


def test_an_unknown_region_says_how_to_reach_a_newer_one():
    """A name botocore does not know: the closest ones, and the way to a region newer than
    botocore (a newer botocore, or --endpoint-url)."""
    with pytest.raises(eniops.InvalidInput) as caught:
        _inputs.region("eu-wset-1", {"eu-west-1", "us-east-1"}, "AWS_DEFAULT_REGION")
    assert caught.value.message.startswith("AWS_DEFAULT_REGION: 'eu-wset-1'")
    assert "--endpoint-url" in caught.value.message


@pytest.mark.parametrize(
    ("value", "zone"),
    [
        ("us-east-1a", True),
        ("use1-az2", True),
        ("us-west-2-lax-1a", True),
        ("usw2-lax1-az1", True),
        ("i-0123456789abcdef0", False),
        ("vol-01234567", False),
        ("eni-attach-0123456789abcdef0", False),
        ("arn:aws:ec2:us-east-1:123456789012:instance/i-01234567", False),
        ("", False),
        (None, False),
        (["us-east-1a"], False),
    ],
)
def test_an_events_field_names_a_zone_only_when_it_reads_as_one_and_is_no_resource(value, zone):
    """What an AWS Health event names may be anything: a zone's name or id is one the zone
    parser takes and that is not a resource's id (which the loose zone pattern would take)."""
    assert _inputs.names_a_zone(value) is zone
    if zone:
        assert _inputs.zone(value) == value
