"""`import eniops` stays cheap: no boto3, botocore, tenacity or moto, no client, no network."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize("module", ["eniops", "eniops.aws_lambda", "eniops.cli"])
def test_import_loads_no_aws_sdk_and_no_moto(module):
    """Importing eniops (or its Lambda or CLI adapter) pulls in no AWS SDK and no moto."""
    code = (
        f"import sys, {module}; "
        "print(sorted(m for m in ('boto3', 'botocore', 'tenacity', 'moto') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
