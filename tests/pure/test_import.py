"""`import eniops` stays cheap: no boto3, botocore, tenacity or moto, no client, no network."""

from __future__ import annotations

import subprocess
import sys


def test_import_loads_no_aws_sdk_and_no_moto():
    """Importing eniops pulls in neither the AWS SDK nor moto (Lambda cold starts)."""
    code = (
        "import sys, eniops; "
        "print(sorted(m for m in ('boto3', 'botocore', 'tenacity', 'moto') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
