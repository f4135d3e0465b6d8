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


def test_every_error_the_readme_names_is_exported():
    """Each error type the README lists is `eniops.<Name>`, an `EniopsError`, in `__all__`."""
    import re
    from pathlib import Path

    import eniops

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    paragraph = readme.split("Errors: ", 1)[1].split("\n\n", 1)[0]
    named = set(re.findall(r"`([A-Z]\w+)`", paragraph))
    assert {"InvalidInput", "Interrupted", "ImdsError", "PartialFailure"} <= named
    for name in sorted(named):
        assert name in eniops.__all__, name
        assert issubclass(getattr(eniops, name), eniops.EniopsError), name


def test_the_library_logs_to_a_null_handler_until_told_otherwise():
    """`eniops` has a NullHandler from the moment a module that logs is loaded: nothing
    printed for an application that set up no logging, and the application's own
    configuration still decides."""
    code = (
        "import logging, eniops.aws_lambda; "
        "print([type(h).__name__ for h in logging.getLogger('eniops').handlers]); "
        "logging.getLogger('eniops.x').warning('quiet')"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "['NullHandler']"
    assert done.stderr == ""
    configured = (
        "import logging, eniops.aws_lambda; logging.basicConfig(); "
        "logging.getLogger('eniops.x').warning('heard')"
    )
    done = subprocess.run(
        [sys.executable, "-c", configured], capture_output=True, text=True, check=True
    )
    assert "heard" in done.stderr


def test_every_logger_of_eniops_comes_through_the_one_that_adds_the_null_handler():
    """No module of eniops gets a logger but through `eniops._core._log` (so none can log before
    the NullHandler is there), and `import eniops` or its command line loads no logging."""
    from pathlib import Path

    package = Path(__file__).resolve().parents[2] / "eniops"
    getting = [
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if "getLogger(" in path.read_text() and path.name != "_log.py"
    ]
    assert getting == []  # the command line configures eniops' logger, got through `_log`
    from eniops._core._log import logger

    assert logger("eniops.aws_lambda").name == "eniops.aws_lambda"
    for outside in ("botocore", "eniopsx", ""):
        with pytest.raises(ValueError, match="not one of eniops' loggers"):
            logger(outside)
    code = "import sys, eniops, eniops.cli; print('logging' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
