"""`--output text` and `--output table` against the AWS CLI's own rendering of the same
data (awscli is a dev dependency): hand-made shapes and eniops' real results."""

from __future__ import annotations

import io
from types import SimpleNamespace

import pytest

import eniops
from eniops._formats import aws_table, aws_text

awscli_text = pytest.importorskip("awscli.text")
awscli_formatter = pytest.importorskip("awscli.formatter")

SHAPES = {
    "flat": {"AllocationId": "eipalloc-1", "PublicIp": "1.2.3.4", "InstanceId": None},
    "nested": {"operation": "remap_eip", "changed": True, "after": {"a": {"x": "1", "y": 2}}},
    "list of records": {
        "steps": [{"action": "ec2:AssociateAddress", "status": "done"}, {"action": "b", "n": 1}]
    },
    "records with more": {"items": [{"a": 1, "sub": {"x": 1, "y": 2}}, {"a": 2, "sub": {"x": 3}}]},
    "scalars": {"ips": ["10.0.0.1", "10.0.0.2"], "n": 3},
    "one key": {"only": "value"},
    "bare list": ["a", "b"],
    "list of lists": [["a", "b"], ["c", "d"]],
    "wide": {f"key_{n}": f"a value that takes room {n}" for n in range(6)},
    "unicode": {"名前": "値", "plain": "x"},
}


def theirs_text(data):
    out = io.StringIO()
    awscli_text.format_text(data, out)
    return out.getvalue().rstrip("\n")


def theirs_table(title, data, monkeypatch):
    monkeypatch.setattr("awscli.table.determine_terminal_width", lambda default_width=80: 80)
    formatter = awscli_formatter.TableFormatter(SimpleNamespace(color="off", query=None))
    out = io.StringIO()
    formatter(title, data, out)
    return out.getvalue().rstrip("\n")


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_shapes_render_as_the_aws_cli_renders_them(name, monkeypatch):
    data = SHAPES[name]
    assert aws_text(data) == theirs_text(data)
    assert aws_table("RemapEip", data, 80) == theirs_table("RemapEip", data, monkeypatch)


def test_eniops_results_render_as_the_aws_cli_renders_them(world, monkeypatch):
    """A remap's Result, a failover's (children, steps, nested before/after), a readiness
    and an instance's description: the same text and table as the AWS CLI's."""
    lab = world.lab
    results = {
        "CheckFailover": eniops.check_failover(
            lab.active, to_instance=lab.standby, ec2=world.client
        ).to_dict(),
        "Describe": eniops.describe(lab.active, ec2=world.client),
        "FailoverInstance": eniops.failover_instance(
            lab.active, to_instance=lab.standby, ec2=world.client
        ).to_dict(),
        "RemapEip": eniops.remap_eip(lab.eip, to_instance=lab.active, ec2=world.client).to_dict(),
    }
    for title, data in results.items():
        assert aws_text(data) == theirs_text(data), title
        assert aws_table(title, data, 80) == theirs_table(title, data, monkeypatch), title


def test_an_empty_value_prints_nothing_in_either():
    assert aws_text([]) == ""
    assert aws_table("X", {}, 80) == ""
