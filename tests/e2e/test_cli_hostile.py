"""Hostile arguments for every command: one value of a well-formed command line made junk.

The answer is exit 2 and one line, never a traceback, and nothing is asked of EC2 (the
endpoint is a port where nothing listens: a call would be exit 5 or 6) or of IMDS (a fake
one on 127.0.0.1 counts its requests; `--to-self` must not reach it when another argument
is malformed).
"""

from __future__ import annotations

import pytest
from cli_process import run_in_process
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from judges import cli_value_well_formed
from support import fake_imds

INST, INST2, ENI, ALLOC = "i-0123abcd", "i-0456abcd", "eni-0123abcd", "eipalloc-0123abcd"

#: A well-formed command line per command; each value slot may be made junk in turn.
COMMANDS = {
    "eip remap": ["eip", "remap", ALLOC, "--to-instance", INST, "--expect-current", INST2],
    "eni move": ["eni", "move", ENI, "--to-instance", INST, "--device-index", "1"],
    "eni attach": ["eni", "attach", ENI, "--instance", INST],
    "eni detach": ["eni", "detach", ENI, "--expect-current", INST],
    "ip add": ["ip", "add", ENI, "--ips", "10.0.1.9", "--expect-current", INST],
    "ip remove": ["ip", "remove", ENI, "--ips", "10.0.1.9"],
    "failover": ["failover", INST, "--to-instance", INST2, "--require-tag", "ha"],
    "route move": [
        "route",
        "move",
        "192.168.100.10/32",
        "--to-eni",
        ENI,
        "--route-tables",
        "rtb-0123abcd",
    ],
    "show": ["show", INST],
    "iam-policy": ["iam-policy", "--require-tag", "ha=yes"],
}
#: Global options with a value, put before the command.
GLOBALS = [
    ["--timeout", "30"],
    ["--region", "eu-west-1"],
    ["--role-arn", "arn:aws:iam::123456789012:role/eniops"],
]

JUNK = st.one_of(
    st.sampled_from(
        [
            "",
            " ",
            "=",
            "=x",
            "-1",
            "0",
            "1e400",
            "nan",
            "inf",
            "i-123",
            "eni-zz",
            "i-0123ABCD",
            "eipalloc-0123",
            "10.0.0.999",
            "010.0.0.1",
            "10.0.0.1/33",
            "rtb-",
            "us east 1",
            "arn:aws:iam::1:role/x",
            "ha\n",
            "x" * 300,
            "\x00",
            "--",
            "-",
        ]
    ),
    st.text(min_size=1, max_size=12).filter(lambda t: not t.startswith("-")),
)


def _slots(argv: list[str]) -> list[int]:
    """Indexes of the values in `argv` (not option names or command words)."""
    words = 2 if argv[0] in ("eip", "eni", "ip", "route") else 1
    return [i for i in range(words, len(argv)) if not argv[i].startswith("--")]


CASES = [(name, slot) for name, argv in COMMANDS.items() for slot in _slots(argv)] + [
    ("global", i) for i in range(len(GLOBALS))
]


#: The argument each command's positional value is.
POSITIONAL = {
    "eip remap": "eip",
    "eni move": "eni",
    "eni attach": "eni",
    "eni detach": "eni",
    "ip add": "target",
    "ip remove": "target",
    "failover": "from_instance",
    "route move": "destination",
    "show": "resource_id",
}


def _well_formed(command: str, argv: list[str], slot: int, value: str) -> bool:
    option = argv[slot - 1]
    positional = POSITIONAL.get(command) if not option.startswith("--") else None
    return cli_value_well_formed(option, positional, value)


@pytest.fixture(scope="module")
def imds():
    with fake_imds(INST) as server:
        yield server


@pytest.mark.parametrize(("command", "slot"), CASES)
@pytest.mark.parametrize("to_self", [False, True], ids=["", "to-self"])
@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(junk=JUNK)
def test_one_malformed_value_is_exit_2_without_aws_or_imds(
    command, slot, to_self, junk, imds, monkeypatch
):
    monkeypatch.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.endpoint)
    if command == "global":
        if cli_value_well_formed(GLOBALS[slot][0], None, junk):
            return
        argv = [*GLOBALS[slot][:1], junk, *COMMANDS["show"]]
    else:
        argv = list(COMMANDS[command])
        if _well_formed(command, argv, slot, junk):
            return
        argv[slot] = junk
        if to_self and "--to-instance" in argv and argv.index("--to-instance") + 1 != slot:
            at = argv.index("--to-instance")
            argv[at : at + 2] = ["--to-self"]
        elif to_self:
            return  # nothing to replace by --to-self here
    before = imds.tokens_issued
    code, err, out = run_in_process(argv)
    assert code == 2, (argv, err, out)
    assert "Traceback" not in err
    assert err.strip()
    assert imds.tokens_issued == before, "IMDS was asked before the arguments were checked"
