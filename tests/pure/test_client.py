"""Clients eniops builds: botocore's retries off, timeouts inside the operation's deadline."""

from __future__ import annotations

import boto3

from eniops._gateway import build_client
from eniops._version import user_agent


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
