"""Fixtures for the end-to-end suites."""

from __future__ import annotations

import boto3
import pytest
from cli_process import free_port
from moto.server import ThreadedMotoServer

from eniops.testing import build_lab


@pytest.fixture(scope="session")
def server():
    """A moto server on 127.0.0.1 for the whole session."""
    port = free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    moto.start()
    yield f"http://127.0.0.1:{port}"
    moto.stop()


@pytest.fixture
def lab(server):
    """A fresh lab (its own VPC) on the moto server."""
    client = boto3.client("ec2", region_name="us-east-1", endpoint_url=server)
    return build_lab(client)
