"""EC2's rules as pure functions: every reason code, no AWS at all."""

from __future__ import annotations

import json

import pytest
from state import LIMITS, SUBNET, eni, instance

import eniops
from eniops._core._inputs import TagGuard
from eniops._core._result import Result, Step
from eniops._ops import _ip_rules as ip_rules
from eniops._ops import _placing as placing
from eniops._ops import eni as eni_rules
from eniops._ops import remap as remap_rules
from eniops._state import _rules as check
from eniops._state._model import Limits, Subnet


def reason_of(call):
    with pytest.raises(eniops.PreconditionFailed) as caught:
        call()
    return caught.value.reason


def test_primary_eni_cannot_move():
    """Device index 0 on card 0 is the primary interface."""
    assert reason_of(lambda: eni_rules.not_primary(eni(index=0))) == "primary-eni"
    eni_rules.not_primary(eni(index=1))
    eni_rules.not_primary(eni(index=0, card=1))


@pytest.mark.parametrize(("kind", "managed"), [("nat_gateway", False), ("interface", True)])
def test_requester_managed(kind, managed):
    """Service-owned ENIs are refused by InterfaceType or RequesterManaged."""
    assert reason_of(lambda: check.not_requester_managed(eni(kind=kind, managed=managed))) == (
        "requester-managed"
    )


def test_az_and_vpc():
    """Different VPC, then different zone, are refused; same zone other subnet is fine."""
    target = instance()
    assert reason_of(lambda: placing.same_vpc_and_az(eni(vpc="vpc-0000000f"), target)) == (
        "vpc-mismatch"
    )
    assert reason_of(lambda: placing.same_vpc_and_az(eni(az="us-east-1b"), target)) == "az-mismatch"
    placing.same_vpc_and_az(eni(subnet="subnet-0000000f"), target)


@pytest.mark.parametrize("state", ["pending", "stopping", "shutting-down", "terminated"])
def test_instance_state_refused(state):
    """Only running (hot) and stopped (warm) instances take an attach."""
    assert reason_of(lambda: check.instance_state(instance(state=state))) == "instance-state"


@pytest.mark.parametrize("state", ["running", "stopped"])
def test_instance_state_allowed(state):
    """Running and stopped pass."""
    check.instance_state(instance(state=state))


def test_device_index_lowest_free_and_requested():
    """None picks the lowest free index; a taken one is refused; a free one is kept."""
    target = instance(eni("eni-0000000c", index=0), eni("eni-0000000d", index=2))
    assert placing.choose_device_index(target, LIMITS, None) == 1
    assert placing.choose_device_index(target, Limits("x", 4, {0: 4}, 4), 3) == 3
    assert reason_of(lambda: placing.choose_device_index(target, Limits("x", 4, {0: 4}, 4), 2)) == (
        "device-index-in-use"
    )


def test_attachment_limit_per_card():
    """A full network card refuses another interface."""
    target = instance(*(eni(f"eni-0000000{i}", index=i) for i in range(3)))
    assert reason_of(lambda: placing.choose_device_index(target, LIMITS, None)) == (
        "attachment-limit"
    )


def test_same_subnet_points_to_secondary_ips():
    """A second ENI of a subnet is refused unless allowed, suggesting add_secondary_ips."""
    target = instance(eni("eni-0000000c", index=0))
    with pytest.raises(eniops.PreconditionFailed) as caught:
        placing.no_same_subnet(eni(), target, allow=False)
    assert caught.value.reason == "same-subnet"
    assert caught.value.details["suggestion"] == "add_secondary_ips"
    placing.no_same_subnet(eni(), target, allow=True)
    placing.no_same_subnet(eni(subnet="subnet-0000000f"), target, allow=False)


def test_in_use_elsewhere():
    """Attaching an ENI attached to another instance is a conflict."""
    with pytest.raises(eniops.Conflict) as caught:
        eni_rules.free_for(eni(index=1, instance="i-0000000f"), "i-0000000b")
    assert caught.value.reason == "in-use"


def test_expect_current():
    """The holder must match; UNASSOCIATED means nobody."""
    check.expect_current("i-0000000a", "x", ["eni-0000000a", "i-0000000a"])
    check.expect_current(eniops.UNASSOCIATED, "x", [None, ""])
    check.expect_current(None, "x", ["anyone"])
    for expected, holders in (
        ("i-0000000b", ["i-0000000a"]),
        ("unassociated", ["i-0000000a"]),
        ("i-0000000a", []),
    ):
        with pytest.raises(eniops.Conflict) as caught:
            check.expect_current(expected, "x", holders)
        assert caught.value.reason == "expect-mismatch"


def test_tag_guard():
    """A resource without the required tag is refused."""
    check.tag_guard(TagGuard("env", "prod"), "i-0000000b", {"env": "prod"})
    assert reason_of(lambda: check.tag_guard(TagGuard("env", "prod"), "x", {"env": "dev"})) == (
        "tag-guard"
    )


def test_private_ip_on_eni():
    """remap_eip's private_ip must be one of the ENI's IPs."""
    remap_rules.private_ip_on_eni("10.0.1.10", eni())
    assert reason_of(lambda: remap_rules.private_ip_on_eni("10.0.1.11", eni())) == (
        "private-ip-not-on-eni"
    )


@pytest.mark.parametrize(
    ("ip", "reason"),
    [
        ("10.0.2.5", "ip-outside-subnet"),
        ("10.0.1.0", "ip-reserved"),
        ("10.0.1.1", "ip-reserved"),
        ("10.0.1.2", "ip-reserved"),
        ("10.0.1.3", "ip-reserved"),
        ("10.0.1.255", "ip-reserved"),
    ],
)
def test_ip_rules(ip, reason):
    """IPs outside the subnet and the five reserved addresses are refused."""
    assert (
        reason_of(
            lambda: ip_rules.ips_to_add(
                eni(), SUBNET, [ip], {}, allow_reassignment=False, expected=None, limits=LIMITS
            )
        )
        == reason
    )


def test_ip_in_use_and_reassignment():
    """An IP held by another ENI needs allow_reassignment, and then expect_current must hold."""
    holders = {"10.0.1.20": ("eni-0000000f", "i-0000000f")}

    def add(**kw):
        return ip_rules.ips_to_add(eni(), SUBNET, ["10.0.1.20"], holders, limits=LIMITS, **kw)

    with pytest.raises(eniops.Conflict) as caught:
        add(allow_reassignment=False, expected=None)
    assert caught.value.reason == "ip-in-use"
    assert add(allow_reassignment=True, expected=None) == ("10.0.1.20",)
    assert add(allow_reassignment=True, expected="i-0000000f") == ("10.0.1.20",)
    assert add(allow_reassignment=True, expected="eni-0000000f") == ("10.0.1.20",)
    with pytest.raises(eniops.Conflict) as caught:
        add(allow_reassignment=True, expected="i-0000000e")
    assert caught.value.reason == "expect-mismatch"


def test_ip_limit_counts_the_primary():
    """Ipv4AddressesPerInterface counts the primary IP."""
    three = eni(ips=("10.0.1.10", "10.0.1.11", "10.0.1.12"))
    assert ip_rules.ips_to_add(
        three, SUBNET, ["10.0.1.13"], {}, allow_reassignment=False, expected=None, limits=LIMITS
    ) == ("10.0.1.13",)
    assert (
        reason_of(
            lambda: ip_rules.ips_to_add(
                three,
                SUBNET,
                ["10.0.1.13", "10.0.1.14"],
                {},
                allow_reassignment=False,
                expected=None,
                limits=LIMITS,
            )
        )
        == "ip-limit"
    )


def test_present_ips_are_skipped():
    """IPs already on the ENI are not added again."""
    assert (
        ip_rules.ips_to_add(
            eni(), SUBNET, ["10.0.1.10"], {}, allow_reassignment=False, expected=None, limits=LIMITS
        )
        == ()
    )


def test_pick_free_ips_never_reserved_or_used():
    """count picks the lowest free addresses, skipping reserved and used ones."""
    picked = ip_rules.pick_free_ips(SUBNET, {"10.0.1.4", "10.0.1.6"}, 3)
    assert picked == ("10.0.1.5", "10.0.1.7", "10.0.1.8")
    tiny = Subnet("subnet-0000000e", "10.0.9.0/29", "us-east-1a", "vpc-0123abcd")
    assert ip_rules.pick_free_ips(tiny, set(), 3) == ("10.0.9.4", "10.0.9.5", "10.0.9.6")
    assert reason_of(lambda: ip_rules.pick_free_ips(tiny, set(), 4)) == "ip-limit"


def test_removal_rules():
    """The primary IP and IPs with an Elastic IP are refused; absent IPs are skipped."""
    two = eni(ips=("10.0.1.10", "10.0.1.11", "10.0.1.12"))
    assert ip_rules.ips_to_remove(two, ["10.0.1.11", "10.0.1.99"], []) == ("10.0.1.11",)
    assert reason_of(lambda: ip_rules.ips_to_remove(two, ["10.0.1.10"], [])) == "ip-is-primary"
    assert reason_of(lambda: ip_rules.ips_to_remove(two, ["10.0.1.12"], ["10.0.1.12"])) == (
        "ip-has-eip"
    )


def test_result_to_dict_is_json():
    """Result.to_dict() is plain JSON, children included."""
    child = Result("remap_eip", "apply", True, (Step("ec2:AssociateAddress", {"A": 1}, "done"),))
    parent = Result(
        "failover_instance",
        "apply",
        True,
        before={"s": {"a", "b"}},
        children=(child,),
        warnings=("w",),
        elapsed_s=1.23456,
    )
    data = json.loads(json.dumps(parent.to_dict()))
    assert data["children"][0]["steps"][0] == {
        "action": "ec2:AssociateAddress",
        "params": {"A": 1},
        "status": "done",
    }
    assert data["before"] == {"s": ["a", "b"]}
    assert data["elapsed_s"] == 1.235


def _waiting(ip, source, *, on="eni-0000000b"):
    return eni(on, ips=("10.0.1.11",), tags={"eniops:ip-move": f"from={source} ips={ip}"})


def test_an_intent_counts_only_for_a_call_that_moves_from_its_source():
    """An address on no ENI named by an `eniops:ip-move` intent is held by the intent's
    `from` ENI for a call that moves it from there, and is a stranger's (named, not held)
    for any other call; an address some ENI shows, or one not asked for, is left out."""
    ip, shown_ip = "2001:db8::5", "2001:db8::6"
    intents = [_waiting(ip, "eni-0000000c"), _waiting(shown_ip, "eni-0000000c", on="eni-0000000d")]
    held, warnings = ip_rules.on_their_way(
        intents, [ip, shown_ip], [shown_ip], lambda e: e == "eni-0000000c"
    )
    assert (held, warnings) == ({ip: "eni-0000000c"}, [])
    held, warnings = ip_rules.on_their_way(intents, [ip], [], lambda e: False)
    assert held == {}
    (warning,) = warnings
    assert "eni-0000000b" in warning
    assert ip in warning
    assert "eni-0000000c" in warning
    assert ip_rules.on_their_way(intents, ["2001:db8::7"], [], lambda e: False) == ({}, [])


class _Iam:
    """An IAM gateway stand-in: GetRole answers a role with a path."""

    def __init__(self):
        self.asked = []

    def call(self, operation, params):
        self.asked.append((operation, params))
        return {"Role": {"Arn": f"arn:aws:iam::111122223333:role/ops/{params['RoleName']}"}}


@pytest.mark.parametrize(
    ("caller", "principal", "asked"),
    [
        (
            "arn:aws:sts::111122223333:assumed-role/failover/eniops-i-0abc-42",
            "arn:aws:iam::111122223333:role/ops/failover",
            [("GetRole", {"RoleName": "failover"})],
        ),
        ("arn:aws:iam::111122223333:user/alice", "arn:aws:iam::111122223333:user/alice", []),
        ("arn:aws-cn:sts::111122223333:user/bob", "arn:aws-cn:iam::111122223333:user/bob", []),
    ],
    ids=["role", "user", "user-as-sts-names-it"],
)
def test_the_simulated_principal_is_the_callers_own(caller, principal, asked):
    """The policy simulator is asked about the role (with its path, read) or user whose
    credentials make EC2's calls."""
    from eniops._ops import readiness

    iam = _Iam()
    partition = caller.split(":")[1]
    assert readiness._principal(iam, caller, partition, "111122223333") == principal
    assert iam.asked == asked


def test_root_or_a_federated_caller_is_not_simulated():
    from eniops._ops import readiness

    with pytest.raises(eniops.InvalidInput):
        readiness._principal(_Iam(), "arn:aws:iam::111122223333:root", "aws", "111122223333")
