"""The eniops command end to end: a moto server on 127.0.0.1, real argument parsing."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time

import boto3
import pytest
from cli_process import free_port, run, run_in_process
from hypothesis import given, settings
from hypothesis import strategies as st
from support import FakeImds, fake_imds

from eniops import cli
from eniops.testing import StrictEc2, build_lab, short_waits


def test_remap_json_then_no_op(server, lab):
    """eip remap exits 0 with Result JSON; the re-run exits 0 with changed=false."""
    done = run(
        server,
        "--output",
        "json",
        "eip",
        "remap",
        lab.eip,
        "--to-instance",
        lab.standby,
        "--expect-current",
        lab.active,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["changed"] is True
    again = run(server, "--output", "json", "eip", "remap", lab.eip, "--to-instance", lab.standby)
    assert again.returncode == 0
    assert json.loads(again.stdout)["changed"] is False


def test_text_output_says_what_changed(server, lab):
    """text output names the change, from where to where."""
    done = run(server, "eip", "remap", lab.public_ip, "--to-instance", lab.standby)
    assert done.returncode == 0, done.stderr
    assert "CHANGED" in done.stdout
    assert f"-> {lab.standby}" in done.stdout


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["eip", "remap", "eipalloc-0123456789abcdef0", "--to-instance", "i-0123456789abcdef0"], 3),
        (["eip", "remap", "EIP", "--to-instance", "STANDBY", "--expect-current", "FAR"], 4),
        (["eip", "remap", "not-an-id", "--to-instance", "STANDBY"], 2),
        (["eip", "remap", "EIP"], 2),
        (["eni", "move", "ENI", "--to-instance", "FAR"], 3),
        (["eni", "detach", "ENI", "--expect-current", "FAR"], 4),
        (["ip", "add", "STANDBY", "--ip", "10.0.9.9"], 3),
        (["nonsense"], 2),
        (["eni", "move", "ENI", "--to-instance", "STANDBY", "--device-index", "x"], 2),
    ],
    ids=[
        "not-found",
        "conflict",
        "malformed",
        "usage",
        "az",
        "detach-expect",
        "ip-outside",
        "unknown-command",
        "bad-int",
    ],
)
def test_exit_codes_without_traceback(server, lab, args, code):
    """Each failure class has its exit code and one line on stderr, never a traceback."""
    names = {"EIP": lab.eip, "STANDBY": lab.standby, "FAR": lab.far, "ENI": lab.floating_eni}
    done = run(server, *[names.get(a, a) for a in args])
    assert done.returncode == code, done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_json_errors_on_stdout(server, lab):
    """With --output json, an error is also a JSON object on stdout."""
    done = run(
        server,
        "--output",
        "json",
        "eip",
        "remap",
        lab.eip,
        "--to-instance",
        lab.standby,
        "--expect-current",
        lab.far,
    )
    assert done.returncode == 4
    error = json.loads(done.stdout)["error"]
    assert (error["type"], error["reason"]) == ("Conflict", "expect-mismatch")


def test_aws_unreachable_is_a_timeout_within_the_timeout():
    """An endpoint that does not answer ends as OperationTimeout, exit 6, within --timeout."""
    started = time.monotonic()
    done = run(
        f"http://127.0.0.1:{free_port()}",
        "--timeout",
        "2",
        "eip",
        "remap",
        "eipalloc-0123456789abcdef0",
        "--to-instance",
        "i-0123456789abcdef0",
    )
    assert done.returncode == 6, done.stderr
    assert "Traceback" not in done.stderr
    assert time.monotonic() - started < 2 + 8  # a process start and one bounded call at most


def test_verbose_shows_traceback(server):
    """-v shows the traceback for a failure."""
    done = run(
        server,
        "-v",
        "eip",
        "remap",
        "eipalloc-0123456789abcdef0",
        "--to-instance",
        "i-0123456789abcdef0",
    )
    assert done.returncode == 3
    assert "Traceback" in done.stderr


def test_every_command_runs(server, lab):
    """eni move/detach/attach, ip add/remove, failover, show and iam-policy all exit 0."""
    steps = [
        [
            "--output",
            "json",
            "eni",
            "move",
            lab.floating_eni,
            "--to-instance",
            lab.standby,
            "--plan",
        ],
        ["--output", "json", "eni", "detach", lab.floating_eni],
        ["--output", "json", "eni", "attach", lab.floating_eni, "--instance", lab.active],
        ["--output", "json", "ip", "add", lab.standby, "--ip", "10.0.1.77"],
        ["--output", "json", "ip", "remove", lab.standby, "--ip", "10.0.1.77"],
        ["--output", "json", "failover", lab.active, "--to-instance", lab.standby, "--dry-run"],
        ["--output", "json", "show", lab.active],
        ["iam-policy", "eip-remap", "--require-tag", "failover"],
    ]
    for args in steps:
        done = run(server, *args)
        assert done.returncode == 0, (args, done.stderr)
        json.loads(done.stdout)
    shown = json.loads(run(server, "--output", "json", "show", lab.active).stdout)
    assert shown["free"]["eni_slots"] == 1


def test_to_self_via_imdsv2(server, lab):
    """--to-self reads the instance id with an IMDSv2 token, renewed on 401, never printed."""
    with fake_imds(lab.standby, expire_first_token=True) as imds:
        done = run(
            server,
            "-v",
            "--output",
            "json",
            "eip",
            "remap",
            lab.eip,
            "--to-self",
            env={"AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.endpoint},
        )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["after"]["address"]["instance"] == lab.standby
    assert imds.token not in done.stdout + done.stderr
    assert imds.tokens_issued == 2
    assert imds.token_ttls == {"21600"}


def test_eip_release_from_self_and_guarded(server, lab):
    """`eip release --from-self` releases only from this instance (IMDSv2); another holder
    named is exit 4 and the address stays; a re-run is exit 0 with nothing changed."""
    with fake_imds(lab.standby) as imds:
        env = {"AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.endpoint}
        refused = run(server, "eip", "release", lab.eip, "--from-self", env=env)
    assert refused.returncode == 4, refused.stderr
    assert "expect-mismatch" in refused.stderr
    with fake_imds(lab.active) as imds:
        env = {"AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.endpoint}
        done = run(server, "--output", "json", "eip", "release", lab.eip, "--from-self", env=env)
        again = run(server, "--output", "json", "eip", "release", lab.eip, "--from-self", env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["after"]["address"]["instance"] is None
    assert (again.returncode, json.loads(again.stdout)["changed"]) == (0, False)
    usage = run(server, "eip", "release", lab.eip)
    assert usage.returncode == 2  # one of --expect-current and --from-self is required


def test_to_self_without_imds_is_a_clear_error(server, lab):
    """No IMDS reachable: a one-line error, not a hang or a traceback."""
    done = run(
        server,
        "eip",
        "remap",
        lab.eip,
        "--to-self",
        env={"AWS_EC2_METADATA_SERVICE_ENDPOINT": f"http://127.0.0.1:{free_port()}"},
    )
    assert done.returncode == 5
    assert "instance metadata" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.fixture
def strict_cli(monkeypatch):
    """The CLI in-process on a strict in-memory EC2, for faults a server cannot play."""
    from moto import mock_aws

    with mock_aws():
        client = boto3.client("ec2", region_name="us-east-1")
        lab = build_lab(client)
        strict = StrictEc2(client)
        monkeypatch.setattr(cli, "_client", lambda args: client)
        with short_waits():
            yield strict, lab


def test_demo_tells_the_whole_story():
    """eniops demo refuses the wrong moves, resumes a killed move, crosses zones by route."""
    from eniops.demo import run_demo

    lines: list[str] = []
    summary = run_demo(say=lines.append)
    out = "\n".join(lines)
    assert summary["refused"] == [
        "expect-mismatch",
        "expect-mismatch",
        "az-mismatch",
        "primary-eni",
        "same-subnet",
        "ip-outside-subnet",
        "expect-mismatch",
        "expect-mismatch",
    ]
    # remap, move, resume, add, remap, route move, failover, release; IPv6: route, add, move
    assert summary["changed"] == 11
    # check_failover: ready before, not ready with the standby stopped, ready after the failover
    assert summary["checks"] == [[], ["standby-not-running"], []]
    assert "pending_move: from=" in out
    assert "routes rtb-" in out
    assert "check_failover: NOT READY: 1 problem" in out
    assert "== 27." in out
    assert "eniops:ip-move" in out
    assert "DestinationIpv6CidrBlock=2001:db8::10/128" in out


def test_demo_command(capsys):
    """`eniops demo` runs the story and exits 0."""
    assert cli.main(["demo"]) == 0
    assert "nothing left to move" in capsys.readouterr().out


def test_show_text_is_readable(server, lab):
    """show prints the instance, its limits and free slots, and each ENI with its EIPs."""
    done = run(server, "show", lab.active)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith(f"{lab.active} (t3.large) running in us-east-1a")
    assert "free: 1 ENI slot(s), device indexes 2" in done.stdout
    assert any(line.strip().startswith("#1 ") and lab.floating_eni in line for line in lines)
    assert lab.public_ip in run(server, "show", lab.eip).stdout


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_long_waits_show_progress_on_a_terminal(strict_cli, monkeypatch):
    """With stderr a terminal, the detach and attach polls show what is awaited."""
    strict, lab = strict_cli
    strict.hold("DetachNetworkInterface", polls=3)
    strict.hold("AttachNetworkInterface", polls=3)
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert cli.main(["eni", "move", lab.floating_eni, "--to-instance", lab.standby]) == 0
    shown = terminal.getvalue()
    assert f"waiting for {lab.floating_eni} to detach" in shown
    assert f"waiting for {lab.floating_eni} to attach" in shown


def test_no_progress_when_not_a_terminal(strict_cli, capsys):
    """Scripts get no progress noise on stderr."""
    strict, lab = strict_cli
    strict.hold("DetachNetworkInterface", polls=3)
    assert cli.main(["eni", "move", lab.floating_eni, "--to-instance", lab.standby]) == 0
    assert capsys.readouterr().err == ""


VOCABULARY = [
    "eip",
    "remap",
    "eni",
    "move",
    "attach",
    "detach",
    "ip",
    "add",
    "remove",
    "show",
    "failover",
    "iam-policy",
    "--to-instance",
    "--to-eni",
    "--instance",
    "--ip",
    "--count",
    "--plan",
    "--dry-run",
    "--device-index",
    "--expect-current",
    "--require-tag",
    "--output",
    "json",
    "--timeout",
    "x",
    "-1",
    "i-123",
    "eni-zz",
    "eipalloc-0123",
    "10.0.0.999",
    "=",
    "",
]


@settings(max_examples=80, deadline=None)
@given(argv=st.lists(st.one_of(st.sampled_from(VOCABULARY), st.text(max_size=6)), max_size=7))
def test_malformed_arguments_never_produce_a_traceback(argv):
    """Any argument list ends in an exit code and at most one error line, never a traceback."""
    code, err, _ = run_in_process(argv)
    assert code in (0, 1, 2, 3, 4, 5, 6, 7, 8)
    assert "Traceback" not in err
    if code != 0:
        assert err.strip()


def test_profile_and_config_files_as_the_aws_cli_reads_them(server, lab, tmp_path):
    """--profile picks credentials and region from the AWS config files; a missing one is exit 2."""
    (tmp_path / "config").write_text("[profile ops]\nregion = us-east-1\n")
    (tmp_path / "credentials").write_text(
        "[ops]\naws_access_key_id = opskey\naws_secret_access_key = opssecret\n"
    )
    env = {
        "AWS_CONFIG_FILE": str(tmp_path / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials"),
    }
    base = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "eniops",
            "--profile",
            "ops",
            "--endpoint-url",
            server,
            "--output",
            "json",
            "show",
            lab.eip,
        ],
        capture_output=True,
        text=True,
        env={**base, **env},
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["allocation_id"] == lab.eip
    missing = subprocess.run(
        [
            sys.executable,
            "-m",
            "eniops",
            "--profile",
            "nope",
            "--endpoint-url",
            server,
            "show",
            lab.eip,
        ],
        capture_output=True,
        text=True,
        env={**base, **env},
        timeout=120,
        check=False,
    )
    assert missing.returncode == 2
    assert "Traceback" not in missing.stderr


@pytest.mark.parametrize(
    ("faults", "flags", "code", "error"),
    [
        (
            {"inject": [["DetachNetworkInterface", "UnauthorizedOperation", 1]]},
            [],
            5,
            "PermissionDenied",
        ),
        ({"hold": [["DetachNetworkInterface", 100000]]}, ["--timeout", "1"], 6, "OperationTimeout"),
        (
            {"inject": [["AttachNetworkInterface", "InvalidParameterValue", 1]]},
            [],
            7,
            "PartialFailure",
        ),
        (
            {"inject": [["AttachNetworkInterface", "InvalidParameterValue", 1]]},
            ["--no-rollback"],
            8,
            "PartialFailure",
        ),
    ],
    ids=["permission", "timeout", "rolled-back", "not-rolled-back"],
)
def test_fault_exit_codes_through_a_process(server, lab, faults, flags, code, error):
    """Exit codes 5 to 8 from a real process, with EC2 faults played by the strict layer."""
    global_flags = [f for f in flags if f in ("--timeout", "1")]
    move_flags = [f for f in flags if f not in global_flags]
    done = run(
        server,
        "--output",
        "json",
        *global_flags,
        "eni",
        "move",
        lab.floating_eni,
        "--to-instance",
        lab.standby,
        *move_flags,
        env={"ENIOPS_TEST_FAULTS": json.dumps(faults)},
    )
    assert done.returncode == code, done.stderr
    assert json.loads(done.stdout)["error"]["type"] == error
    assert "Traceback" not in done.stderr


def test_route_move_and_show_lists_routes(server, lab):
    """route move points the overlay IP at the standby; show lists the routes to an ENI."""
    done = run(
        server,
        "--output",
        "json",
        "route",
        "move",
        lab.overlay,
        "--to-instance",
        lab.standby,
        "--expect-current",
        lab.active,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["changed"] is True
    shown = run(server, "show", lab.standby)
    assert f"route {lab.overlay} -> " in shown.stdout
    policy = json.loads(run(server, "iam-policy", "route-move").stdout)
    changes = next(s for s in policy["Statement"] if s["Sid"] == "EniopsChange")
    assert "ec2:ReplaceRoute" in changes["Action"]


def test_role_arn_on_the_command_line(server):
    """--role-arn: the command works in the role's account (STS on the moto server too)."""
    role = "arn:aws:iam::222222222222:role/eniops"
    sts = boto3.client("sts", region_name="us-east-1", endpoint_url=server)
    creds = sts.assume_role(RoleArn=role, RoleSessionName="setup")["Credentials"]
    other = boto3.client(
        "ec2",
        region_name="us-east-1",
        endpoint_url=server,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )
    other_lab = build_lab(other)
    env = {"AWS_ENDPOINT_URL_STS": server, "ENIOPS_EXTERNAL_ID": "ext-123"}
    mine = run(server, "--role-arn", role, "--output", "json", "show", other_lab.eip, env=env)
    assert mine.returncode == 0, mine.stderr
    assert json.loads(mine.stdout)["allocation_id"] == other_lab.eip
    without = run(server, "--output", "json", "show", other_lab.eip)
    assert without.returncode == 3  # not-found in the caller's own account


def test_whoami_through_imdsv2(server, lab):
    """whoami prints this instance's id and region from IMDSv2, and the addresses IMDS shows
    on its primary interface (its Elastic IP, its private and IPv6 addresses): what a node
    reads of itself without EC2's API."""
    address = boto3.client("ec2", region_name="us-east-1", endpoint_url=server).describe_addresses(
        AllocationIds=[lab.eip]
    )["Addresses"][0]
    with fake_imds(lab.active, server=server) as imds:
        done = run(
            server,
            "--output",
            "json",
            "whoami",
            env={"AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.endpoint},
        )
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    assert (shown["instance"], shown["region"]) == (lab.active, "us-east-1")
    assert shown["public"] == [address["PublicIp"]]
    assert shown["private"] == [address["PrivateIpAddress"]]
    assert shown["ipv6"] == []
    with fake_imds(lab.standby) as bare:  # an IMDS without a `mac` answer: no addresses
        done = run(
            server,
            "--output",
            "json",
            "whoami",
            env={"AWS_EC2_METADATA_SERVICE_ENDPOINT": bare.endpoint},
        )
    assert json.loads(done.stdout)["public"] == []


@pytest.mark.parametrize("where", ["environment", "profile"])
def test_imds_on_its_ipv6_endpoint(server, lab, tmp_path, where):
    """The endpoint and its IPv6 mode from the environment or from the profile (as botocore
    resolves them), against a fake IMDS on [::1]."""
    with fake_imds(lab.standby, ipv6=True) as imds:
        assert imds.endpoint.startswith("http://[::1]:")
        if where == "environment":
            env = {
                "AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.endpoint,
                "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE": "IPv6",
            }
        else:
            config = tmp_path / "config"
            config.write_text(
                "[profile node]\n"
                f"ec2_metadata_service_endpoint = {imds.endpoint}\n"
                "ec2_metadata_service_endpoint_mode = IPv6\n"
            )
            env = {"AWS_CONFIG_FILE": str(config), "AWS_PROFILE": "node"}
        done = run(server, "--output", "json", "whoami", env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["instance"] == lab.standby
    assert FakeImds.token not in done.stdout + done.stderr


def test_the_imds_endpoint_of_each_mode():
    """Without an endpoint, the mode picks IMDS's own address (no traffic here); a mode
    that is neither IPv4 nor IPv6 is an error that says so."""
    from eniops._imds import ImdsError, endpoint_of

    assert endpoint_of({"mode": "IPv6"}) == "http://[fd00:ec2::254]"
    assert endpoint_of({"mode": "ipv4"}) == "http://169.254.169.254"
    assert endpoint_of({}) == "http://169.254.169.254"
    assert endpoint_of({"endpoint": "http://[::1]:8080/", "mode": "IPv6"}) == "http://[::1]:8080"
    with pytest.raises(ImdsError, match="IPv4 or IPv6"):
        endpoint_of({"mode": "IPv5"})


def test_the_imds_token_is_reused_until_it_expires(lab, monkeypatch, capsys):
    """Two commands in one process ask for one token; one the IMDS refuses (expired) is
    fetched again; AWS_EC2_METADATA_DISABLED=true asks nothing."""
    with fake_imds(lab.standby) as imds:
        monkeypatch.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.endpoint)
        assert cli.main(["--output", "json", "whoami"]) == 0
        assert cli.main(["--output", "json", "whoami"]) == 0
        assert imds.tokens_issued == 1
        imds.expire_next_get = True
        assert cli.main(["--output", "json", "whoami"]) == 0
        assert imds.tokens_issued == 2
        monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
        assert cli.main(["whoami"]) == 5
        assert imds.tokens_issued == 2
    out = capsys.readouterr()
    assert "disabled" in out.err
    assert FakeImds.token not in out.out + out.err


def test_check_exits_0_when_ready_and_3_when_not(strict_cli, capsys):
    """`eniops check`: exit 0 and the readiness as JSON when ready; after the standby stops,
    exit 3 with every problem, still `Readiness.to_dict()` (not an error object)."""
    strict, lab = strict_cli
    argv = ["--output", "json", "check", lab.active, "--to-instance", lab.standby]
    assert cli.main(argv) == 0
    ready = json.loads(capsys.readouterr().out)
    assert (ready["ready"], ready["problems"]) == (True, [])
    assert ready["plan"]["operation"] == "failover_instance"
    with strict.internal() as client:
        client.stop_instances(InstanceIds=[lab.standby])
    assert cli.main(argv) == 3
    out = json.loads(capsys.readouterr().out)
    assert out["ready"] is False
    assert [p["reason"] for p in out["problems"]] == ["standby-not-running"]
    assert cli.main(["check", lab.active, "--to-instance", lab.standby]) == 3
    text = capsys.readouterr().out
    assert text.startswith("check_failover: NOT READY: 1 problem")
    assert f"standby-not-running  {lab.standby}" in text
    assert [c for c in strict.mutations if not c.params.get("DryRun")] == []


def test_check_takes_no_mode_and_its_own_options(server, lab):
    """`check` has --require-tag and --ip but no --plan or --dry-run (it changes nothing)."""
    done = run(server, "check", lab.active, "--to-instance", lab.standby, "--plan")
    assert done.returncode == 2
    done = run(
        server,
        "--output",
        "json",
        "check",
        lab.active,
        "--to-instance",
        lab.standby,
        "--require-tag",
        "no-such-tag",
    )
    assert done.returncode == 3, done.stderr
    reasons = {p["reason"] for p in json.loads(done.stdout)["problems"]}
    assert reasons == {"tag-guard"}


def test_failover_and_check_take_ipv6_floating_ips(strict_cli, capsys):
    """`--ip` takes IPv6 for `check` and `failover`: checked, then moved from the failed
    instance's primary ENI to the standby's."""
    import ipaddress

    from eniops.testing import dual_stack

    strict, lab = strict_cli
    with strict.internal() as client:
        net = ipaddress.IPv6Network(dual_stack(client, lab)[lab.subnet_a])
        ip = str(net[0x44])
        active = client.describe_instances(InstanceIds=[lab.active])["Reservations"][0][
            "Instances"
        ][0]["NetworkInterfaces"]
        source = next(n for n in active if n["Attachment"]["DeviceIndex"] == 0)
        client.assign_ipv6_addresses(
            NetworkInterfaceId=source["NetworkInterfaceId"], Ipv6Addresses=[ip]
        )
    spelled = ipaddress.IPv6Address(ip).exploded
    check = ["--output", "json", "check", lab.active, "--to-instance", lab.standby]
    assert cli.main([*check, "--ip", spelled]) == 0
    assert json.loads(capsys.readouterr().out)["ready"] is True
    argv = ["--output", "json", "failover", lab.active, "--to-instance", lab.standby]
    assert cli.main([*argv, "--ip", spelled]) == 0
    assert ip in json.loads(capsys.readouterr().out)["before"]["ips"]
    with strict.internal() as client:
        on_source = client.describe_network_interfaces(
            NetworkInterfaceIds=[source["NetworkInterfaceId"]]
        )["NetworkInterfaces"][0]
    assert on_source.get("Ipv6Addresses", []) == []
    with pytest.raises(SystemExit) as bad:
        cli.main([*argv, "--ip", "2001:db8::zz"])
    assert bad.value.code == 2
