"""Loaded by `python -m eniops` subprocesses in the end-to-end tests (via PYTHONPATH).

Every client the command builds is wrapped in `StrictEc2`, so that the command meets EC2's
rules (a plain moto server does not enforce them). ENIOPS_TEST_FAULTS (JSON:
{"inject": [[operation, code, times]], "hold": [[operation, polls]],
 "hold_seconds": [[operation, seconds]], "slow": [[operation, seconds]],
 "late": [[operation, seconds]], "start_at": epoch seconds, "latency": seconds}) adds
faults, so that exit codes and interruptions a moto server cannot provoke are tested through
a real process and real argument parsing; `start_at` holds the first call until then, so
that several processes race from one instant; `latency` is added to every call.
ENIOPS_TEST_CALL_LOG (a path) gets a JSON line per call when the process ends (operation,
and when it was sent and answered, in epoch seconds), for counting round trips across
processes.
"""

import atexit
import json
import os
import time

if os.environ.get("ENIOPS_TEST_STRICT"):
    from eniops import _gateway
    from eniops.testing import NotMoto, StrictEc2

    _build = _gateway.build_client

    def _strict_client(**kwargs):
        client = _build(**kwargs)
        if kwargs.get("ec2") is not None or kwargs.get("service", "ec2") != "ec2":
            return client
        try:
            strict = StrictEc2(client)
        except NotMoto:  # an endpoint that is not moto (a dead port): nothing to guard
            return client
        spec = json.loads(os.environ.get("ENIOPS_TEST_FAULTS") or "{}")
        for operation, code, times in spec.get("inject", []):
            strict.inject(operation, code, times=times)
        for operation, polls in spec.get("hold", []):
            strict.hold(operation, polls=polls)
        for operation, seconds in spec.get("hold_seconds", []):
            strict.hold(operation, seconds=seconds)
        for operation, seconds in spec.get("slow", []):
            strict.slow(operation, seconds)
        for operation, seconds in spec.get("late", []):
            strict.late(operation, seconds)
        strict.latency_s = spec.get("latency", 0.0)
        if os.environ.get("ENIOPS_TEST_CALL_LOG"):
            atexit.register(_log_calls, strict, os.environ["ENIOPS_TEST_CALL_LOG"])
        start_at = spec.get("start_at")
        if start_at is not None:
            time.sleep(max(0.0, start_at - time.time()))
        return client

    def _log_calls(strict, path):
        offset = time.time() - time.monotonic()
        with open(path, "a") as log:
            for call in strict.calls:
                ended = call.ended + offset if call.ended else None
                line = {"operation": call.operation, "at": call.at + offset, "ended": ended}
                log.write(json.dumps(line) + "\n")

    _gateway.build_client = _strict_client
