"""`--output text` and `--output table` against the AWS CLI's own rendering of the same
data (awscli is a dev dependency): hand-made shapes and eniops' real results."""

from __future__ import annotations

import io
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

import eniops
from eniops.cli._formats import aws_table, aws_text

pytestmark = pytest.mark.newest  # awscli pins a botocore of its own: not in the floors

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


NASTY = "ok\x1b[31mred\x9b2J\x7f\t\nforged\r\u202eevil\u2066\\n"


def test_what_a_terminal_acts_on_is_escaped():
    """C0 and C1 controls, DEL and bidirectional overrides are shown escaped; a tab or newline
    as \\t or \\n; a backslash doubled, so an escape reads one way; other text as it is."""
    from eniops.cli._formats import printable

    assert printable(NASTY) == ("ok\\x1b[31mred\\x9b2J\\x7f\\t\\nforged\\r\\u202eevil\\u2066\\\\n")
    for plain in ("eipalloc-0abc", "café 中文", "a b", ""):
        assert printable(plain) == plain


@given(st.text())
def test_no_escaped_text_holds_a_control_character(text):
    """Whatever a tag says, what is printed holds no control character, no bidirectional
    override and no tab or newline."""
    import unicodedata

    from eniops.cli._formats import _BIDI, printable

    shown = printable(text)
    assert not [c for c in shown if unicodedata.category(c) == "Cc" or c in _BIDI]


def test_text_and_table_never_take_a_value_for_a_field_or_a_record():
    """A value with a tab, a newline and escapes renders as one field of one line in text,
    and one cell in a table."""
    from eniops.cli._formats import aws_table, aws_text, escaped

    clean = {"tags": {"Name": "web", "Role": "db"}, "id": "i-1"}
    nasty = {"tags": {"Name": "web", "Role": NASTY}, "id": "i-1"}
    text, plain = aws_text(escaped(nasty)), aws_text(escaped(clean))
    assert len(text.splitlines()) == len(plain.splitlines())
    assert [line.count("\t") for line in text.splitlines()] == [
        line.count("\t") for line in plain.splitlines()
    ]
    table = aws_table("Describe", escaped(nasty), 200)
    assert "\x1b" not in table
    assert "\u202e" not in table
    assert len(table.splitlines()) == len(aws_table("Describe", escaped(clean), 200).splitlines())
