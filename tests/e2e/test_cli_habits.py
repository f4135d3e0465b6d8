"""The command line fits AWS habits: version, outputs, --query, options anywhere, env vars."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from typing import Any

import pytest
from cli_process import run, strict_env
from support import ec2_stub, fake_imds

from eniops import cli


def test_version():
    """--version prints the package's version."""
    from eniops._core._version import version

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
    assert table.stdout.splitlines()[1].strip("| ") == "Describe"
    assert "|  allocation_id " in table.stdout  # too wide for 80 columns: key/value rows
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
    ids = run(server, "--output", "text", "--query", "[allocation_id, kind]", "show", lab.eip)
    assert ids.stdout == f"{lab.eip}\teip\n"  # a list on one line, tab-separated


def test_the_default_output_is_the_aws_clis(server, lab, tmp_path):
    """Without --output: AWS_DEFAULT_OUTPUT, else the profile's `output`, else the summary
    for people; --output wins over both."""
    config = tmp_path / "config"
    config.write_text("[default]\noutput = json\n[profile tsv]\noutput = text\n")
    plain = {"AWS_CONFIG_FILE": "/nonexistent"}
    summary = run(server, "show", lab.eip, env=plain)
    assert f"({lab.eip}) on eni-" in summary.stdout  # a sentence, not data
    from_env = run(server, "show", lab.eip, env={**plain, "AWS_DEFAULT_OUTPUT": "json"})
    assert json.loads(from_env.stdout)["allocation_id"] == lab.eip
    from_profile = run(server, "show", lab.eip, env={"AWS_CONFIG_FILE": str(config)})
    assert json.loads(from_profile.stdout)["allocation_id"] == lab.eip
    named = {"AWS_CONFIG_FILE": str(config), "AWS_PROFILE": "tsv"}
    tsv = run(server, "--query", "allocation_id", "show", lab.eip, env=named)
    assert tsv.stdout == f"{lab.eip}\n"
    explicit = run(server, "--output", "table", "show", lab.eip, env={"AWS_DEFAULT_OUTPUT": "json"})
    assert explicit.stdout.startswith("---")


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
        ["--region", "eu-wset-1", "show", "i-0123456789abcdef0"],
        ["--external-id", "ext-123", "show", "i-0123456789abcdef0"],
    ],
    ids=[
        "negative-timeout",
        "word-timeout",
        "huge-timeout",
        "empty-tag-key",
        "bad-region",
        "region-typo",
        "external-id-without-role",
    ],
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
    if "eu-wset-1" in argv:
        assert "did you mean eu-west-1" in done.stderr


def test_a_region_botocore_knows_is_taken(strict_cli_region):
    """A region from botocore's data that no hand-written pattern knew (the EU sovereign
    cloud's) reaches the client."""
    assert strict_cli_region("eusc-de-east-1") == "eusc-de-east-1"


@pytest.fixture
def strict_cli_region(monkeypatch):
    """The region the CLI builds its client for, given `--region`."""

    def built(name: str) -> str:
        seen: dict[str, str] = {}

        def client(**kwargs):
            seen["region"] = kwargs["region"]
            raise SystemExit(0)

        monkeypatch.setattr("eniops._gateway.build_client", client)
        with pytest.raises(SystemExit):
            cli.main(["--region", name, "show", "i-0123456789abcdef0"])
        return seen["region"]

    return built


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


def _complete(line: str, env: dict[str, str] | None = None) -> list[str]:
    """What eniops answers a shell asking to complete `line` (argcomplete's protocol, as
    the shell scripts speak it)."""
    environment = {
        **os.environ,
        **(env or {}),
        "_ARGCOMPLETE": "1",
        "_ARGCOMPLETE_SHELL": "bash",
        "_ARGCOMPLETE_IFS": "\n",
        "COMP_LINE": line,
        "COMP_POINT": str(len(line)),
    }
    done = subprocess.run(
        ["bash", "-c", f"'{sys.executable}' -m eniops 8>&1 9>/dev/null"],
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
        check=False,
    )
    return [w.strip() for w in done.stdout.split("\n") if w.strip()]


def test_completion_of_commands_options_and_values(tmp_path):
    """Commands, a command's options, and values: --output's, the profiles of the AWS
    files, botocore's regions, the HA scripts' names."""
    assert _complete("eniops ro") == ["route"]
    assert set(_complete("eniops route move 1.2.3.4 --to-")) == {
        "--to-instance",
        "--to-eni",
        "--to-self",
    }
    assert _complete("eniops --output ") == ["json", "text", "table"]
    assert "eu-west-1" in _complete("eniops --region eu-we")
    assert "eniops-ocf" in _complete("eniops ha-script ")
    config = tmp_path / "config"
    config.write_text("[default]\n[profile prod-node]\nregion = eu-west-1\n")
    files = {"AWS_CONFIG_FILE": str(config), "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent"}
    assert _complete("eniops show --profile pro", files) == ["prod-node"]


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_each_shells_script_loads_and_completes(shell, tmp_path):
    """`eniops completion SHELL` prints a script the shell loads (bash, zsh and fish where
    installed; scripts/test.sh installs them as root); fish completes through it."""
    import shutil

    program = shutil.which(shell)
    if program is None:  # scripts/test.sh installs zsh and fish as root where apt has them
        pytest.skip(f"{shell} is not installed")
    script = tmp_path / f"eniops.{shell}"
    done = subprocess.run(
        [sys.executable, "-m", "eniops", "completion", shell],
        capture_output=True,
        text=True,
        check=True,
    )
    script.write_text(done.stdout)
    path = f"{os.path.dirname(sys.executable)}{os.pathsep}{os.environ.get('PATH', '')}"
    probes = {
        "bash": f"source '{script}' && complete -p eniops",
        "zsh": f"autoload -U compinit && compinit -u && source '{script}' && echo loaded",
        "fish": f"source '{script}'; complete -C 'eniops --output '",
    }
    out = subprocess.run(
        [program, "-c", probes[shell]],
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": path, "HOME": str(tmp_path)},
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    expected = {"bash": "eniops", "zsh": "loaded", "fish": "table"}[shell]
    assert expected in out.stdout, out.stdout + out.stderr


def test_no_credentials_is_its_own_error_not_a_permission(server):
    """No credentials anywhere: exit 5 with a message naming where eniops looked, the error
    an AwsError with code NoCredentials (not PermissionDenied, which sends people to IAM)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "ENIOPS_TEST_STRICT"))
    }
    env.update(
        AWS_CONFIG_FILE="/nonexistent",
        AWS_SHARED_CREDENTIALS_FILE="/nonexistent",
        AWS_EC2_METADATA_DISABLED="true",
        AWS_DEFAULT_REGION="us-east-1",
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "eniops",
            "--endpoint-url",
            server,
            "--output",
            "json",
            "show",
            "i-0123456789abcdef0",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 5, done.stderr
    error = json.loads(done.stdout)["error"]
    assert error["type"] == "AwsError"
    assert error["details"]["code"] == "NoCredentials"
    assert "no AWS credentials found" in error["message"]
    assert "AWS_ACCESS_KEY_ID" in error["message"]
    assert "PermissionDenied" not in done.stderr


@pytest.mark.parametrize(
    ("command", "choice"),
    [
        (["eip", "remap"], "(--to-instance ID | --to-eni ID | --to-self)"),
        (["failover"], "(--to-instance ID | --to-self)"),
        (["eip", "release"], "(--expect-current ID | --from-self)"),
        (["route", "move"], "(--to-instance ID | --to-eni ID | --to-self)"),
        (["ip", "add"], "(--ip IP | --count N)"),
    ],
)
def test_every_usage_shows_what_is_exclusive(command, choice):
    """A command's usage shows its one-of arguments as one parenthesised choice."""
    from eniops.cli._parser import build_parser

    parser = build_parser()
    sub = parser
    for word in command:
        sub = next(a for a in sub._actions if isinstance(a, argparse._SubParsersAction)).choices[
            word
        ]
    assert choice in " ".join(sub.format_usage().split())


def test_offline_commands_take_no_network_options():
    """iam-policy, ha-script, docs, completion and demo call nothing: no --region,
    --endpoint-url, --role-arn or --timeout."""
    from eniops.cli._parser import build_parser

    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name in ("iam-policy", "ha-script", "docs", "completion", "demo"):
        usage = commands.choices[name].format_usage()
        for flag in ("--region", "--endpoint-url", "--role-arn", "--timeout", "--external-id"):
            assert flag not in usage, (name, flag)


def test_an_assumed_roles_session_names_this_instance_when_known(monkeypatch):
    """With --to-self the instance id is known: the role's session is named after it, not
    after the host (the client is built after IMDS answered)."""
    import argparse as parsing

    seen: dict[str, object] = {}
    monkeypatch.setattr("eniops._gateway.build_client", lambda **kw: seen.update(kw) or "client")
    args = parsing.Namespace(
        profile=None,
        region="us-east-1",
        role_arn="arn:aws:iam::222222222222:role/eniops",
        external_id=None,
        endpoint_url=None,
        timeout=None,
        self_instance="i-0123456789abcdef0",
    )
    assert cli._client(args) == "client"
    assert seen["instance"] == "i-0123456789abcdef0"
    del args.self_instance
    cli._client(args)
    assert seen["instance"] is None  # the host names it then


COMMAND_LINES = [
    ["--help"],
    ["eip", "remap", "eipalloc-0123456789abcdef0", "--to-instance", "i-0123456789abcdef0"],
    ["--region", "eu-west-1", "eni", "move", "eni-0123456789abcdef0", "--to-self", "--plan"],
    ["failover", "i-0123456789abcdef0", "--to-instance", "i-0fedcba9876543210", "--ip", "::1"],
    ["--profile", "eip", "show", "i-0123456789abcdef0"],
    ["ip", "add", "eni-0123456789abcdef0", "--count", "2", "--output", "json"],
    ["route", "move", "10.9.0.1", "--to-eni", "eni-0123456789abcdef0", "--route-table", "rtb-1"],
    ["check", "i-0123456789abcdef0", "--to-instance", "i-0fedcba9876543210"],
    ["iam-policy", "eip-remap"],
]


@pytest.mark.parametrize("argv", COMMAND_LINES, ids=" ".join)
def test_the_parser_built_for_a_command_line_reads_it_as_the_whole_one_does(argv, capsys):
    """`main` builds whole only the commands its command line names: what it parses, prints
    for help and refuses is what the parser of every command parses, prints and refuses."""
    from eniops.cli._parser import build_parser

    def outcome(parser: argparse.ArgumentParser, line: list[str]) -> tuple[Any, str, str]:
        try:
            parsed: Any = vars(parser.parse_args(line))
        except SystemExit as ended:
            parsed = ("exit", ended.code)
        out, err = capsys.readouterr()
        return parsed, out, err

    lazy, whole = outcome(build_parser(argv), argv), outcome(build_parser(), argv)
    assert lazy == whole
    if argv == ["--help"]:
        assert "failover" in lazy[1]
        assert "route commands" in lazy[1]
    wrong = [*argv, "--bogus"]
    refused = outcome(build_parser(wrong), wrong)
    assert refused == outcome(build_parser(), wrong)
    assert refused[0] == ("exit", 0 if argv == ["--help"] else 2)


@pytest.mark.parametrize(
    ("where", "source"),
    [("env-default", "AWS_DEFAULT_REGION"), ("env-cli", "AWS_REGION"), ("profile", "profile ops")],
)
def test_a_region_from_the_environment_or_the_profile_is_checked_like_region(
    tmp_path, where, source
):
    """A typo in AWS_DEFAULT_REGION, AWS_REGION or the profile's region is exit 2 naming where
    it is set and the closest regions, before any call: never a client built for a region
    that does not exist, retrying until the deadline."""
    env = strict_env()
    del env["AWS_DEFAULT_REGION"]
    if where == "env-default":
        env["AWS_DEFAULT_REGION"] = "eu-wset-1"
    elif where == "env-cli":
        env["AWS_REGION"] = "eu-wset-1"
    else:
        config = tmp_path / "config"
        config.write_text("[profile ops]\nregion = eu-wset-1\n")
        env.update({"AWS_CONFIG_FILE": str(config), "AWS_PROFILE": "ops"})
    with ec2_stub("throttle") as stub:
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "eniops", "--timeout", "20", "show", "i-0123456789abcdef0"],
            capture_output=True,
            text=True,
            env={**env, "AWS_ENDPOINT_URL_EC2": stub.endpoint},
            check=False,
        )
    assert done.returncode == 2, done.stderr
    assert time.monotonic() - started < 10
    assert stub.requests == 0
    (line,) = done.stderr.strip().splitlines()
    assert source in line
    assert "did you mean eu-west-1" in line
    assert "--endpoint-url" in line


def test_with_an_endpoint_url_any_region_name_goes():
    """--endpoint-url names where the calls go: the region is not checked then (the calls
    reach the endpoint)."""
    with ec2_stub("throttle") as stub:
        done = subprocess.run(
            [
                *(sys.executable, "-m", "eniops", "--endpoint-url", stub.endpoint),
                *("--timeout", "2", "show", "i-0123456789abcdef0"),
            ],
            capture_output=True,
            text=True,
            env=strict_env({"AWS_DEFAULT_REGION": "eu-wset-1"}),
            check=False,
        )
    assert stub.requests >= 1
    assert done.returncode == 6, done.stderr


def test_a_query_that_fails_on_the_result_of_a_change_keeps_the_changes_exit(server, lab):
    """A --query that compiles but fails on the data (a function given the wrong type) after
    the remap was made: the result is printed whole, stderr says why, and the exit code is
    the remap's own (0), never 2 as if nothing had been done. On a read it is exit 2."""
    query = "abs(after)"
    done = run(
        server,
        "--output",
        "json",
        "--query",
        query,
        "eip",
        "remap",
        lab.eip,
        "--to-instance",
        lab.standby,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert (result["operation"], result["changed"]) == ("remap_eip", True)
    assert query in done.stderr
    assert "printed whole" in done.stderr
    shown = run(server, "--query", query, "show", lab.eip)
    assert shown.returncode == 2


@pytest.mark.parametrize("output", ["text", "table", None])
def test_tag_values_never_reach_the_terminal_raw(server, lab, output):
    """Tags are anyone's words: a tag value with escape sequences, a bidirectional override,
    a tab and a newline is printed escaped in text, table and the summary for people; it
    never adds a field or a line (the same count as with a plain value)."""
    import boto3

    client = boto3.client("ec2", region_name="us-east-1", endpoint_url=server)
    # What EC2's XML can carry: C1 controls (an 8-bit CSI), bidirectional overrides, tabs
    # and newlines (C0 escapes such as ESC cannot be in XML 1.0; the pure tests have them).
    nasty = "x\x9b2J\x9d0;owned\x9c\u202egnp.exe\tforged\nline\rback"
    chosen = ["--output", output] if output else []

    def shown(value):
        tag = {"Key": "eniops:holder", "Value": value}
        client.create_tags(Resources=[lab.eip], Tags=[tag])
        done = run(server, *chosen, "show", lab.eip, env={"AWS_DEFAULT_OUTPUT": ""})
        assert done.returncode == 0, done.stderr
        return done.stdout

    printed, plain = shown(nasty), shown("x" * len(nasty))
    for raw in ("\x9b", "\x9d", "\u202e", "\r"):
        assert raw not in printed
    assert "\\x9d0;owned" in printed
    assert len(printed.splitlines()) == len(plain.splitlines())
    assert printed.count("\t") == plain.count("\t")


def test_docs_prints_the_reference(capsys):
    """`eniops docs`: the reference, whole, as the repository has it (an installed wheel
    ships it: tests/e2e/test_packaging.py)."""
    from pathlib import Path

    assert cli.main(["docs"]) == 0
    shown = capsys.readouterr().out
    reference = Path(__file__).resolve().parents[2] / "docs" / "reference.md"
    assert shown.rstrip("\n") == reference.read_text().rstrip("\n")
