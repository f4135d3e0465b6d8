"""The command line fits AWS habits: version, outputs, --query, options anywhere, env vars."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from cli_process import run, strict_env
from support import fake_imds

from eniops import cli


def test_version():
    """--version prints the package's version."""
    from eniops._version import version

    done = subprocess.run(
        [sys.executable, "-m", "eniops", "--version"], capture_output=True, text=True, check=False
    )
    assert (done.returncode, done.stdout.strip()) == (0, f"eniops {version()}")


def test_global_options_after_the_command(server, lab):
    """Options such as --region, --endpoint-url and --output work after the command too."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "eniops",
            "show",
            lab.eip,
            "--region",
            "us-east-1",
            "--endpoint-url",
            server,
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
        env=strict_env(),
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["allocation_id"] == lab.eip


def test_aws_region_alone_is_honoured(server, lab):
    """AWS_REGION without AWS_DEFAULT_REGION picks the region, as the AWS CLI does."""
    env = {k: v for k, v in strict_env().items() if k != "AWS_DEFAULT_REGION"}
    env["AWS_REGION"] = "us-east-1"
    done = subprocess.run(
        [sys.executable, "-m", "eniops", "--endpoint-url", server, "show", lab.eip],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def test_table_output_and_query(server, lab):
    """--output table draws key/value rows; --query picks from the JSON result."""
    table = run(server, "--output", "table", "show", lab.eip)
    assert table.returncode == 0
    assert "| allocation_id" in table.stdout
    assert lab.eip in table.stdout
    picked = run(
        server,
        "--output",
        "text",
        "--query",
        "after.address.instance",
        "eip",
        "remap",
        lab.eip,
        "--to-instance",
        lab.standby,
    )
    assert picked.returncode == 0, picked.stderr
    assert picked.stdout.strip() == lab.standby
    bad = run(server, "--query", "[[[", "show", lab.eip)
    assert bad.returncode == 2


def test_metadata_disabled_is_honoured(server, lab):
    """AWS_EC2_METADATA_DISABLED=true: --to-self refuses without asking IMDS."""
    with fake_imds(lab.standby) as imds:
        done = run(
            server,
            "eip",
            "remap",
            lab.eip,
            "--to-self",
            env={
                "AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.endpoint,
                "AWS_EC2_METADATA_DISABLED": "true",
            },
        )
    assert done.returncode == 5
    assert "AWS_EC2_METADATA_DISABLED" in done.stderr
    assert imds.tokens_issued == 0


def test_a_malformed_id_is_refused_before_imds(server, lab):
    """--to-self with a malformed resource id: exit 2, and IMDS is never asked."""
    with fake_imds(lab.standby) as imds:
        done = run(
            server,
            "eip",
            "remap",
            "eipalloc-nothex",
            "--to-self",
            env={"AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.endpoint},
        )
    assert done.returncode == 2
    assert imds.tokens_issued == 0


def _actions(parser):
    import argparse

    for action in parser._actions:
        yield action
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _actions(sub)


def test_every_option_has_help_and_help_lists_exit_codes():
    """No option without help text; --help ends with the exit codes."""
    parser = cli.build_parser()
    for action in _actions(parser):
        if action.option_strings:
            assert action.help, action.option_strings
    assert "130" in parser.format_help()
    assert "partial failure" in parser.format_help()


@pytest.mark.parametrize(
    "argv",
    [
        ["--timeout", "-1", "show", "i-0123456789abcdef0"],
        ["--timeout", "abc", "show", "i-0123456789abcdef0"],
        ["--timeout", "1e400", "show", "i-0123456789abcdef0"],
        ["iam-policy", "--require-tag", "=x"],
        ["--region", "not a region!", "show", "i-0123456789abcdef0"],
    ],
    ids=["negative-timeout", "word-timeout", "huge-timeout", "empty-tag-key", "bad-region"],
)
def test_bad_global_values_are_usage_errors(argv):
    """Malformed values are exit 2 with one line, not a traceback."""
    done = subprocess.run(
        [sys.executable, "-m", "eniops", *argv],
        capture_output=True,
        text=True,
        env=strict_env(),
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_a_closed_pipe_is_quiet():
    """`eniops iam-policy | head -1` prints no BrokenPipeError."""
    done = subprocess.run(
        f"'{sys.executable}' -m eniops iam-policy | head -1",
        shell=True,
        capture_output=True,
        text=True,
        check=False,
        env=os.environ,
    )
    assert done.stdout.strip() == "{"
    assert "Error" not in done.stderr


def test_bash_completion_from_the_parser(tmp_path):
    """`eniops completion bash` completes commands and each command's options."""
    script = tmp_path / "completion.sh"
    done = subprocess.run(
        [sys.executable, "-m", "eniops", "completion", "bash"],
        capture_output=True,
        text=True,
        check=True,
    )
    script.write_text(done.stdout)
    probe = (
        f"source '{script}'; "
        'COMP_WORDS=(eniops ro); COMP_CWORD=1; _eniops; echo "${COMPREPLY[*]}"; '
        "COMP_WORDS=(eniops route move 1.2.3.4 --to-); COMP_CWORD=4; _eniops; "
        'echo "${COMPREPLY[*]}"'
    )
    out = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, check=True)
    first, second = out.stdout.splitlines()
    assert first == "route"
    assert set(second.split()) == {"--to-instance", "--to-eni", "--to-self"}
