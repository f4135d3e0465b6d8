"""Loaded by `python -m eniops` subprocesses in the end-to-end tests (via PYTHONPATH).

With ENIOPS_TEST_FAULTS set (JSON: {"inject": [[operation, code, times]], "hold":
[[operation, polls]]}), every client the command builds is wrapped in `StrictEc2` with those
faults, so that exit codes a plain moto server cannot provoke are tested through a real
process and real argument parsing.
"""

import json
import os

_SPEC = os.environ.get("ENIOPS_TEST_FAULTS")

if _SPEC:
    from eniops import _gateway
    from eniops.testing import StrictEc2

    _build = _gateway.build_client

    def _faulty_client(**kwargs):
        client = _build(**kwargs)
        strict = StrictEc2(client)
        spec = json.loads(_SPEC)
        for operation, code, times in spec.get("inject", []):
            strict.inject(operation, code, times=times)
        for operation, polls in spec.get("hold", []):
            strict.hold(operation, polls=polls)
        return client

    _gateway.build_client = _faulty_client
