"""Every input is checked before the first call, and every failure keeps its type and exit
code: a bad --query or endpoint, a closed or full stdout, STS answers that do not read,
a second signal."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest
from cli_process import run_in_process, strict_env
from support import ec2_stub

ROLE = "arn:aws:iam::123456789012:role/failover"


def test_a_bad_query_is_exit_2_before_any_aws_call(lab):
    """A --query that does not compile is refused before EC2 is asked anything."""
    with ec2_stub("throttle") as stub:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "eniops",
                "--endpoint-url",
                stub.endpoint,
                "--query",
                "[[[",
                "eip",
                "remap",
                lab.eip,
                "--to-instance",
                lab.standby,
            ],
            capture_output=True,
            text=True,
            env=strict_env(),
            timeout=60,
            check=False,
        )
        assert stub.requests == 0
    assert done.returncode == 2, done.stderr
    assert "--query" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "url",
    ["ftp://127.0.0.1:1", "http://", "http://127.0.0.1:99999", "127.0.0.1:5000", "http://a b"],
    ids=["scheme", "no-host", "port", "no-scheme", "space"],
)
def test_a_bad_endpoint_url_is_exit_2(url):
    """An endpoint URL that is not http(s)://host[:port] is invalid input, not an AWS error."""
    code, err, _ = run_in_process(["show", "i-0123abcd", "--endpoint-url", url])
    assert code == 2, err
    assert "--endpoint-url" in err


def _remap(server, lab, *extra, stdout, to=None, expect=None):
    guard = ["--expect-current", expect] if expect else []
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "eniops",
            "--endpoint-url",
            server,
            *extra,
            "eip",
            "remap",
            lab.eip,
            "--to-instance",
            to or lab.standby,
            *guard,
        ],
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        env=strict_env(),
        timeout=120,
        check=False,
    )


def _address_eni(server, lab):
    client = boto3.client("ec2", region_name="us-east-1", endpoint_url=server)
    return client.describe_addresses(AllocationIds=[lab.eip])["Addresses"][0]["NetworkInterfaceId"]


def test_a_full_stdout_keeps_the_exit_code_of_a_success(server, lab):
    """The remap is done; stdout is /dev/full: exit 0 still, and one line on stderr."""
    with open("/dev/full", "w") as full:
        done = _remap(server, lab, stdout=full)
    assert done.returncode == 0, done.stderr
    assert "could not be written" in done.stderr
    assert "Traceback" not in done.stderr
    assert _address_eni(server, lab) != ""


def test_a_full_stdout_keeps_the_exit_code_of_a_conflict(server, lab):
    """A guard refuses (exit 4, which keepalived's script branches on); the JSON error cannot
    be written to /dev/full: exit 4 still."""
    with open("/dev/full", "w") as full:
        done = _remap(server, lab, "--output", "json", stdout=full)
        assert done.returncode == 0, done.stderr
        refused = _remap(
            server, lab, "--output", "json", stdout=full, to=lab.active, expect=lab.far
        )
    assert refused.returncode == 4, refused.stderr
    assert "Traceback" not in refused.stderr


def test_a_closed_stdout_keeps_the_exit_code(server, lab):
    """Started with stdout closed (`>&-`): the remap is done, exit 0, one line on stderr."""
    command = " ".join(
        [
            f"'{sys.executable}' -m eniops --endpoint-url {server} eip remap {lab.eip}",
            f"--to-instance {lab.standby} >&-",
        ]
    )
    done = subprocess.run(
        ["bash", "-c", command],
        capture_output=True,
        text=True,
        env=strict_env(),
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "could not be written" in done.stderr
    assert "Traceback" not in done.stderr


class _FakeSts(BaseHTTPRequestHandler):
    """STS on 127.0.0.1 answering AssumeRole with `server.body`."""

    server: _StsServer

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.requests += 1
        body = self.server.body.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_):
        pass


class _StsServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, body):
        super().__init__(("127.0.0.1", 0), _FakeSts)
        self.body = body
        self.requests = 0


EXPIRED = """<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
<AssumeRoleResult><Credentials><AccessKeyId>AKIAEXPIRED</AccessKeyId>
<SecretAccessKey>secret</SecretAccessKey><SessionToken>token</SessionToken>
<Expiration>2001-01-01T00:00:00Z</Expiration></Credentials>
<AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/failover/x</Arn>
<AssumedRoleId>AROA:x</AssumedRoleId></AssumedRoleUser></AssumeRoleResult>
<ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></AssumeRoleResponse>"""
NOT_XML = "<html><body>a captive portal</body></html>"
NO_CREDENTIALS = """<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
<AssumeRoleResult></AssumeRoleResult></AssumeRoleResponse>"""


@pytest.mark.parametrize(
    "body", [EXPIRED, NOT_XML, NO_CREDENTIALS], ids=["expired", "not-xml", "no-credentials"]
)
def test_sts_answers_that_do_not_serve_are_aws_errors(body, monkeypatch):
    """STS answers AssumeRole with expired credentials, a body that is not XML, or no
    credentials: exit 5 with one line, never a traceback or exit 1."""
    sts = _StsServer(body)
    thread = threading.Thread(target=sts.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", f"http://127.0.0.1:{sts.server_address[1]}")
    try:
        code, err, _ = run_in_process(["--role-arn", ROLE, "--timeout", "5", "show", "i-0123abcd"])
    finally:
        sts.shutdown()
        sts.server_close()
    assert sts.requests >= 1
    assert code == 5, err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_a_second_signal_keeps_the_first_ones_exit_and_report(server, lab):
    """SIGTERM during a held detach, then SIGINT 10 ms later: exit 143 (the first), with the
    report of where everything is."""
    env = strict_env({"ENIOPS_TEST_FAULTS": json.dumps({"slow": [["AttachNetworkInterface", 3]]})})
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "eniops",
            "--endpoint-url",
            server,
            "eni",
            "move",
            lab.floating_eni,
            "--to-instance",
            lab.standby,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    client = boto3.client("ec2", region_name="us-east-1", endpoint_url=server)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # the detach is done: the attach is being sent
        eni = client.describe_network_interfaces(NetworkInterfaceIds=[lab.floating_eni])
        if eni["NetworkInterfaces"][0]["Status"] == "available":
            break
        time.sleep(0.05)
    time.sleep(0.5)
    process.send_signal(signal.SIGTERM)
    time.sleep(0.01)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 143, err
    assert "where everything is" in err
    assert "already stopping" in err
    assert "Traceback" not in err


class _Page(BaseHTTPRequestHandler):
    """An endpoint on 127.0.0.1 that answers every call with an HTML page (a proxy's, a
    misconfigured VPC endpoint's) at `server.status`."""

    server: _PageServer

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.requests += 1
        body = self.server.page.encode()
        self.send_response(self.server.status)
        self.send_header("Content-Type", self.server.kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_):
        pass


class _PageServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, status, page, kind):
        super().__init__(("127.0.0.1", 0), _Page)
        self.status, self.page, self.kind, self.requests = status, page, kind, 0

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.server_address[1]}"


PAGES = {
    "nginx": (
        "<!DOCTYPE html>\n<html><head><meta charset=utf-8><title>502 Bad Gateway</title>"
        "</head><body><center><h1>502 Bad Gateway</h1></center><hr></body></html>",
        "text/html",
    ),
    # Well-formed: botocore parses it as EC2's answer, into an empty list of addresses.
    "xhtml": (
        "<html><head><title>Sign in</title></head><body><p>proxy</p></body></html>",
        "text/html",
    ),
    "mislabelled": ("<!doctype html><html><body>captive portal<br></body></html>", "text/xml"),
}


@pytest.mark.parametrize("status", [200, 403, 500, 502, 503])
@pytest.mark.parametrize("page", sorted(PAGES))
def test_an_html_page_from_the_endpoint_is_an_aws_error_naming_it(status, page):
    """An HTML page instead of EC2's answer, whatever its status: exit 5 and one line that
    names the endpoint and the HTTP status, never exit 1, a traceback, or a page read as an
    answer (an empty list of addresses: 'not found'); a 5xx one is tried a few times first."""
    text, kind = PAGES[page]
    server = _PageServer(status, text, kind)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "eniops",
                "--endpoint-url",
                server.endpoint,
                "--timeout",
                "20",
                "show",
                "eipalloc-0123456789abcdef0",
            ],
            capture_output=True,
            text=True,
            env=strict_env(),
            timeout=60,
            check=False,
        )
    finally:
        server.shutdown()
        server.server_close()
    assert done.returncode == 5, done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert server.endpoint in line
    assert f"HTTP {status}" in line
    assert "AwsError" in line
    assert server.requests == (3 if status >= 500 else 1)


class _RefusingSts(_FakeSts):
    """STS on 127.0.0.1 refusing AssumeRole with `server.body` as a 400 error."""

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.requests += 1
        body = self.server.body.encode()
        self.send_response(400)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _sts_error(code):
    return (
        '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error>'
        f"<Type>Sender</Type><Code>{code}</Code><Message>no</Message></Error>"
        "<RequestId>r</RequestId></ErrorResponse>"
    )


@pytest.mark.parametrize(
    ("code", "exit_code", "words"),
    [
        ("Throttling", 6, "STS AssumeRole kept answering Throttling"),
        ("AccessDenied", 5, "(STS AssumeRole, fetching the credentials to sign it): AccessDenied"),
    ],
    ids=["throttled", "denied"],
)
def test_an_error_from_sts_is_named_as_stss(code, exit_code, words, monkeypatch):
    """The role's credentials are fetched as the first EC2 call is signed; STS throttling or
    refusing them is said to be STS's answer, never EC2's."""
    sts = _StsServer(_sts_error(code))
    sts.RequestHandlerClass = _RefusingSts
    thread = threading.Thread(target=sts.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", f"http://127.0.0.1:{sts.server_address[1]}")
    try:
        code_, err, _ = run_in_process(["--role-arn", ROLE, "--timeout", "3", "show", "i-0123abcd"])
    finally:
        sts.shutdown()
        sts.server_close()
    assert code_ == exit_code, err
    assert words in err
    assert "EC2 kept answering" not in err
