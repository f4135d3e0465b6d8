"""Hostile input: every argument of every public function, and every shape of Lambda event.

Each case changes one argument of an otherwise well-formed call to something drawn from a
wide pool of junk (wrong types, near-miss ids, huge and non-finite numbers, any text), keeps
only what an independent judge (the rules of `api.md`, written out here, not eniops' own
parsers) calls malformed, and holds eniops to: `InvalidInput`, never another exception, and
no AWS call. The command line's arguments are held to the same in `tests/e2e`.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from judges import JUDGES
from support import NoCalls

import eniops
from eniops import aws_lambda
from eniops._core import _inputs

INST, INST2, ENI, ALLOC = "i-0123abcd", "i-0456abcd", "eni-0123abcd", "eipalloc-0123abcd"

#: A well-formed call of each public function: (positional, keyword arguments).
CALLS: dict[str, tuple[Any, dict[str, Any]]] = {
    "remap_eip": (ALLOC, {"to_instance": INST}),
    "move_eni": (ENI, {"to_instance": INST}),
    "attach_eni": (ENI, {"instance": INST}),
    "detach_eni": (ENI, {}),
    "add_secondary_ips": (ENI, {"ips": ["10.0.1.9"]}),
    "remove_secondary_ips": (ENI, {"ips": ["10.0.1.9"]}),
    "failover_instance": (INST, {"to_instance": INST2}),
    "move_route": ("192.168.100.10/32", {"to_instance": INST}),
    "describe": (INST, {}),
    "release_eip": (ALLOC, {"expect_current": INST}),
    "check_failover": (INST, {"to_instance": INST2}),
}

JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from([10**400, -(10**400), 2**63, -1, 0, 32, 51, 86_400]),
    st.floats(),
    st.text(max_size=40),
    st.binary(max_size=8),
    st.from_regex(r"(i|eni|eipalloc|rtb|eni-attach)-[0-9a-fA-Fxg ]{0,20}", fullmatch=True),
    st.from_regex(r"[0-9]{1,4}(\.[0-9]{1,4}){0,4}(/[0-9]{1,3})?", fullmatch=True),
    st.sampled_from(["unassociated", "apply ", "dry_run", "PLAN", "=x", "k=v\n", "us-east-1 "]),
    st.lists(st.one_of(st.text(max_size=12), st.integers(), st.none()), max_size=3),
    st.tuples(st.text(max_size=5)),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.builds(object),
    st.just(NoCalls),
)


def _arguments() -> list[tuple[str, str]]:
    """Every (function, argument) pair of the public functions, the common keywords its
    ``**common`` takes included."""
    import inspect

    from eniops._registry import BY_NAME

    pairs = []
    for name in CALLS:
        for parameter in inspect.signature(getattr(eniops, name)).parameters.values():
            if parameter.kind is parameter.VAR_KEYWORD:
                pairs.extend((name, k) for k in BY_NAME[name].common)
            else:
                pairs.append((name, parameter.name))
    return pairs


@pytest.mark.parametrize(("function", "argument"), _arguments())
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(junk=JUNK)
def test_one_malformed_argument_is_invalid_input_with_no_aws_call(function, argument, junk):
    judge = JUDGES.get(f"{function}.{argument}", JUDGES.get(argument))
    assert judge is not None, f"no rule for {function}({argument}=…): add one to JUDGES"
    positional, keywords = CALLS[function]
    first = _first(function)
    # None is the default of an argument the well-formed call leaves out: well formed.
    assume(not judge(junk) and not (junk is None and argument not in (first, *keywords)))
    client = NoCalls()
    keywords = {**keywords, "ec2": client}
    if argument == first:
        positional = junk
    else:
        keywords[argument] = junk
        if argument == "session":
            keywords.pop("ec2")
    with pytest.raises(eniops.InvalidInput):
        getattr(eniops, function)(positional, **keywords)
    assert client.calls == []


# -- Lambda events ------------------------------------------------------------------------

_JSON = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=12)),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
_NOT_AN_INSTANCE = JUNK.filter(lambda v: not JUDGES["to_instance"](v))
#: Neither an instance nor a zone: what a hostile AWS Health event may name.
_NOWHERE = _JSON.filter(
    lambda v: not _inputs.names_a_zone(v) and not (isinstance(v, str) and "i-" in v)
)
_STATES = st.one_of(
    st.sampled_from(["stopping", "stopped", "shutting-down", "terminated", "running", "pending"]),
    _JSON,
)


def _state_change(instance: Any, state: Any) -> dict[str, Any]:
    return {
        "detail-type": "EC2 Instance State-change Notification",
        "source": "aws.ec2",
        "detail": {"instance-id": instance, "state": state},
    }


def _kind(source: str, kind: str, detail: Any) -> dict[str, Any]:
    return {"source": source, "detail-type": kind, "detail": detail}


def _lifecycle(kind: str, instance: Any, group: Any) -> dict[str, Any]:
    detail = {"EC2InstanceId": instance, "AutoScalingGroupName": group, "LifecycleHookName": "h"}
    return _kind("aws.autoscaling", f"EC2 Instance-{kind} Lifecycle Action", detail)


def _alarm(dimensions: Any, *, own_action: bool = False, metrics: Any = None) -> dict[str, Any]:
    body = {
        "alarmName": "eniops-test",
        "state": {"value": "ALARM"},
        "configuration": {
            "metrics": metrics
            if metrics is not None
            else [{"metricStat": {"metric": {"dimensions": dimensions}}}]
        },
    }
    if own_action:
        return {"source": "aws.cloudwatch", "alarmData": body}
    return {
        "detail-type": "CloudWatch Alarm State Change",
        "source": "aws.cloudwatch",
        "detail": body,
    }


EVENTS = st.one_of(
    _JSON,
    st.builds(_state_change, _NOT_AN_INSTANCE, st.sampled_from(["stopped", "terminated"])),
    st.builds(_state_change, _JSON, _STATES),
    st.builds(
        lambda detail: {"detail-type": "EC2 Instance State-change Notification", "detail": detail},
        _JSON,
    ),
    st.builds(_alarm, st.builds(lambda v: {"InstanceId": v}, _NOT_AN_INSTANCE)),
    st.builds(_alarm, _JSON),
    st.builds(
        lambda d: _alarm(d, own_action=True),
        st.builds(lambda v: {"InstanceId": v}, _NOT_AN_INSTANCE),
    ),
    st.builds(lambda m: _alarm(None, metrics=m), _JSON),
    st.builds(
        lambda kind, instance: _kind("aws.ec2", kind, {"instance-id": instance}),
        st.sampled_from(
            ["EC2 Spot Instance Interruption Warning", "EC2 Instance Rebalance Recommendation"]
        ),
        _NOT_AN_INSTANCE,
    ),
    st.builds(_lifecycle, st.sampled_from(["launch", "terminate"]), _NOT_AN_INSTANCE, _JSON),
    st.builds(_lifecycle, st.sampled_from(["launch", "terminate"]), _JSON, _JSON),
    st.builds(
        lambda detail: _kind("aws.health", "AWS Health Event", detail),
        st.one_of(
            _JSON,
            st.builds(
                lambda v: {
                    "service": "EC2",
                    "eventTypeCategory": "scheduledChange",
                    "affectedEntities": [{"entityValue": v}],
                },
                _NOT_AN_INSTANCE,
            ),
        ),
    ),
    st.builds(
        lambda category, entities, resources, zone: {
            **_kind(
                "aws.health",
                "AWS Health Event",
                {
                    "service": "EC2",
                    "eventTypeCategory": category,
                    "affectedEntities": entities,
                    "availabilityZone": zone,
                },
            ),
            "resources": resources,
        },
        st.sampled_from(["scheduledChange", "issue"]),
        st.one_of(_JSON, st.lists(st.builds(lambda v: {"entityValue": v}, _NOWHERE), max_size=3)),
        st.one_of(_JSON, st.lists(_NOWHERE, max_size=3)),
        _NOWHERE,
    ),
    st.builds(
        lambda op, args: {"operation": op, "args": args},
        st.one_of(st.sampled_from(sorted(CALLS)), _JSON),
        _JSON,
    ),
    st.builds(
        lambda op, junk: {"operation": op, "args": {_first(op): junk}},
        st.sampled_from(sorted(CALLS)),
        JUNK.filter(lambda v: not (isinstance(v, str) and v[:1] in "ie0123456789")),
    ),
)


def _first(function: str) -> str:
    import inspect

    return next(iter(inspect.signature(getattr(eniops, function)).parameters))


class _Context:
    function_name = "eniops-test"
    aws_request_id = "req-1"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 60_000


@settings(max_examples=300, deadline=None)
@given(event=EVENTS)
def test_any_event_is_answered_never_raised_and_calls_nothing(event, monkeypatch_module):
    """Junk events are `ok: false` (retrying cannot help) or ignored; nothing is called."""
    client = NoCalls()
    services = ("ec2", "cloudwatch", "autoscaling", "dynamodb")
    monkeypatch_module.setattr(aws_lambda, "_clients", dict.fromkeys(services, client))
    result = aws_lambda.handler(event, _Context())
    assert isinstance(result, dict)
    if result["ok"]:
        assert "ignored" in result, result
    else:
        assert result["error"]["type"] in ("InvalidInput", "PreconditionFailed"), result
    assert client.calls == []


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_EC2_METADATA_DISABLED", "true")
        for name in ("ENIOPS_STANDBY", "ENIOPS_LEASE_TABLE", "ENIOPS_REQUIRE_TAG"):
            patch.delenv(name, raising=False)
        yield patch


@pytest.mark.parametrize(
    ("category", "fields"),
    [
        *(
            (category, {"detail": {"affectedEntities": entities}})
            for category in ("scheduledChange", "issue")
            for entities in (5, "i-0123456789abcdef0")
        ),
        ("scheduledChange", {"resources": 7}),  # a zone's issue does not read its resources
        ("scheduledChange", {"resources": {"arn": "i-0123456789abcdef0"}}),
    ],
)
def test_an_aws_health_event_whose_lists_are_not_lists_is_invalid_input(
    category, fields, monkeypatch_module
):
    """A list field that is not a list is malformed (`ok: false`), not an exception that
    Lambda would retry; nothing is called."""
    client = NoCalls()
    monkeypatch_module.setattr(aws_lambda, "_clients", {"ec2": client})
    event = _kind("aws.health", "AWS Health Event", {"service": "EC2"})
    event["detail"].update(eventTypeCategory=category, **fields.get("detail", {}))
    event.update({k: v for k, v in fields.items() if k != "detail"})
    result = aws_lambda.handler(event, _Context())
    assert (result["ok"], result["error"]["type"]) == (False, "InvalidInput")
    assert "expected a list" in result["error"]["message"]
    assert client.calls == []
