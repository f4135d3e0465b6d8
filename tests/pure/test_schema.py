"""The JSON Schema of `--output json` that ships with eniops: valid, in step with the
registry and the reason codes, and able to refuse what is not a result."""

from __future__ import annotations

import pytest
from output_schema import problems, schema

import eniops
from eniops import _registry
from eniops._core._result import Problem, Readiness, Result, Step


def test_the_schema_names_every_operation_and_reason():
    """Its enums are the registry's operations and every reason code a problem may carry."""
    defs = schema()["$defs"]
    assert set(defs["result"]["properties"]["operation"]["enum"]) == {
        s.name for s in _registry.OPERATIONS
    }
    assert set(defs["problem"]["properties"]["reason"]["enum"]) == {
        *eniops.REASONS,
        *eniops.READINESS_REASONS,
    }


def test_results_readinesses_and_errors_fit():
    step = Step("ec2:AssociateAddress", {"AllocationId": "eipalloc-1"}, "done", "verified")
    child = Result("remap_eip", "apply", True, (step,), {"a": 1}, {"a": 2}, ("w",), 0.1)
    whole = Result("failover_instance", "apply", True, children=(child,))
    assert problems("result", whole.to_dict()) == []
    ready = Readiness(False, (Problem("tag-guard", "i-1", "no tag"),), plan=whole)
    assert problems("readiness", ready.to_dict()) == []
    error = {"error": eniops.Conflict("expect-mismatch", "held by another").to_dict()}
    assert problems("error", error) == []


@pytest.mark.parametrize(
    ("kind", "broken"),
    [
        ("result", lambda d: d.pop("children")),
        ("result", lambda d: d.update(mode="maybe")),
        ("result", lambda d: d.update(surprise=1)),
        ("result", lambda d: d["steps"].append({"action": "AssociateAddress", "params": {}})),
        (
            "readiness",
            lambda d: d["problems"].append({"reason": "nope", "resource": "", "message": "x"}),
        ),
        ("readiness", lambda d: d.update(plan="a plan")),
        ("error", lambda d: d["error"].pop("details")),
    ],
    ids=["no-children", "mode", "unknown-key", "step", "reason", "plan", "error-details"],
)
def test_the_schema_refuses_what_is_not_a_result(kind, broken):
    """A document missing a field, with an unknown one or a value out of its set fails."""
    documents = {
        "result": Result("remap_eip", "plan", False).to_dict(),
        "readiness": Readiness(True).to_dict(),
        "error": {"error": eniops.InvalidInput("bad").to_dict()},
    }
    document = documents[kind]
    assert problems(kind, document) == []
    broken(document)
    assert problems(kind, document) != []
