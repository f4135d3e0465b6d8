"""Clients eniops builds: botocore's retries off, timeouts inside the operation's deadline."""

from __future__ import annotations

import boto3
import pytest

import eniops
from eniops._core._version import user_agent
from eniops._gateway import build_client


def test_botocore_retries_are_off_so_layers_do_not_multiply():
    """One attempt per botocore call: eniops' own retry layer is the only one."""
    client = build_client(region="us-east-1")
    assert client.meta.config.retries == {"mode": "standard", "total_max_attempts": 1}
    assert user_agent() in client.meta.config.user_agent_extra


def test_call_timeouts_fit_the_deadline():
    """No single call may wait past a short operation timeout; long ones cap at 20 s."""
    short = build_client(region="us-east-1", timeout_s=2)
    assert (short.meta.config.connect_timeout, short.meta.config.read_timeout) == (2, 2)
    default = build_client(region="us-east-1")
    assert (default.meta.config.connect_timeout, default.meta.config.read_timeout) == (3, 20)


def test_a_given_client_is_used_as_given():
    """ec2= is returned untouched; a session builds in its own region."""
    mine = boto3.client("ec2", region_name="eu-west-1")
    assert build_client(ec2=mine) is mine
    built = build_client(session=boto3.session.Session(region_name="eu-west-2"))
    assert built.meta.region_name == "eu-west-2"


def test_an_assumed_role_names_its_session_per_node_and_process(monkeypatch):
    """AssumeRole's session name is eniops-<host>-<pid> (CloudTrail tells callers apart),
    the external id goes with it, and the credentials come through the session's chain of
    providers (no private attribute)."""
    import os
    import socket

    from moto import mock_aws
    from moto.sts.models import sts_backends

    from eniops._gateway._clients import role_session_name

    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    role = "arn:aws:iam::222222222222:role/eniops"
    with mock_aws():
        client = build_client(role_arn=role, region="us-east-1", external_id="ext-123")
        client.describe_addresses()
        assumed = [r for b in sts_backends["222222222222"].values() for r in b.assumed_roles]
    (one,) = assumed
    assert one.session_name == role_session_name()
    assert one.session_name.startswith("eniops-")
    assert one.session_name.endswith(f"-{os.getpid()}")
    assert socket.gethostname()[:20] in one.session_name or len(one.session_name) == 64
    assert one.external_id == "ext-123"


def test_a_session_name_stays_within_stss_limits(monkeypatch):
    """A long or odd host name is cut and cleaned: at most 64 characters of STS's
    alphabet, the pid kept; the Lambda names its function instead of its host."""
    import os
    import re

    from eniops._gateway._clients import role_session_name

    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    long = role_session_name("i-0123456789abcdef0" + "x" * 80 + " bad/chars!")
    assert len(long) <= 64
    assert long.endswith(f"-{os.getpid()}")
    assert re.fullmatch(r"[\w+=,.@-]{2,64}", long)
    assert role_session_name("i-0123456789abcdef0").startswith("eniops-i-0123456789abcdef0-")
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "eniops-failover")
    assert role_session_name().startswith("eniops-eniops-failover-")


def test_an_external_id_goes_with_a_role_only():
    """external_id without role_arn is invalid input, before any call; a malformed one too,
    and its value is not repeated in the error."""
    with pytest.raises(eniops.InvalidInput):
        eniops.describe("i-0123456789abcdef0", external_id="ext-123", region="us-east-1")
    with pytest.raises(eniops.InvalidInput) as caught:
        eniops.describe(
            "i-0123456789abcdef0",
            role_arn="arn:aws:iam::222222222222:role/eniops",
            external_id="secret value!",
            region="us-east-1",
        )
    assert "secret value!" not in caught.value.message


def test_the_aws_files_are_found_and_read_as_the_aws_cli_reads_them(tmp_path, monkeypatch):
    """The config file's profiles are [default] and [profile …] (not [sso-session …] or
    [services …]); every section of the credentials file is one; `~` in a path is the home;
    a missing or broken file has none; the profile is the one given, then AWS_PROFILE, then
    AWS_DEFAULT_PROFILE, then default."""
    from eniops import cli
    from eniops.cli import _aws_files, _completion

    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "config").write_text(
        "[default]\noutput = json\n[profile tsv]\noutput = text\n"
        "[sso-session corp]\nsso_region = eu-west-1\n[services local]\nec2 =\n"
    )
    (tmp_path / "credentials").write_text("[ci]\naws_access_key_id = x\n")
    (tmp_path / "broken").write_text("no section header\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", "~/config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "~/credentials")
    for variable in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_DEFAULT_OUTPUT"):
        monkeypatch.delenv(variable, raising=False)
    assert set(_aws_files.CONFIG.profiles()) == {"default", "tsv"}
    assert _completion._profiles() == ["ci", "default", "tsv"]
    assert cli._configured_output(None) == "json"
    assert cli._configured_output("tsv") == "text"
    monkeypatch.setenv("AWS_DEFAULT_PROFILE", "tsv")
    assert _aws_files.profile_name(None) == "tsv"
    assert cli._configured_output(None) == "text"
    monkeypatch.setenv("AWS_PROFILE", "ci")
    assert (_aws_files.profile_name(None), _aws_files.profile_name("x")) == ("ci", "x")
    assert cli._configured_output(None) == "summary"  # ci has no output
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "broken"))
    assert _aws_files.CONFIG.profiles() == {}
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "missing"))
    assert _aws_files.CONFIG.profiles() == {}
