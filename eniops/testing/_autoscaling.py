"""Auto Scaling's `CompleteLifecycleAction`, which moto does not implement, answered on a
moto-backed client as EC2 Auto Scaling answers it: after checking its parameters (the group
and its hook exist, the result is CONTINUE or ABANDON, a token or an instance id names the
action), with each completion recorded."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from . import _errors as errors
from ._lab import require_moto


@dataclass(frozen=True)
class Completion:
    """One lifecycle action completed."""

    group: str
    hook: str
    result: str
    instance: str | None
    token: str | None


class StrictAutoScaling:
    """Handlers on a moto-backed Auto Scaling client (it refuses any other, `NotMoto`)."""

    def __init__(self, client: Any) -> None:
        require_moto(client)
        import boto3  # noqa: PLC0415

        self.client = client
        #: Its own reads go through a client of its own: the code under test never sees them.
        self._own = boto3.client(
            "autoscaling",
            region_name=client.meta.region_name,
            endpoint_url=client.meta.endpoint_url,
        )
        self.completed: list[Completion] = []
        self._lock = threading.Lock()
        events = client.meta.events
        events.register(
            "before-parameter-build.auto-scaling.CompleteLifecycleAction", self._remember
        )
        events.register("before-call.auto-scaling.CompleteLifecycleAction", self._complete)

    def _remember(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["strict_params"] = dict(params)

    def _complete(self, context: dict[str, Any], **_: Any) -> Any:
        params = context.get("strict_params", {})
        group, hook = params.get("AutoScalingGroupName"), params.get("LifecycleHookName")
        result = params.get("LifecycleActionResult")
        instance, token = params.get("InstanceId"), params.get("LifecycleActionToken")
        refused = self._refusal(group, hook, result, instance, token)
        if refused is not None:
            return errors.error("ValidationError", refused).answer()
        with self._lock:
            self.completed.append(Completion(str(group), str(hook), str(result), instance, token))
        return errors.ok(), {"ResponseMetadata": {"HTTPStatusCode": 200}}

    def _refusal(self, group: Any, hook: Any, result: Any, instance: Any, token: Any) -> str | None:
        if result not in ("CONTINUE", "ABANDON"):
            return f"LifecycleActionResult {result!r} is not CONTINUE or ABANDON"
        if not instance and not token:
            return "either InstanceId or LifecycleActionToken is required"
        found = self._own.describe_lifecycle_hooks(AutoScalingGroupName=group)
        if hook not in {h["LifecycleHookName"] for h in found.get("LifecycleHooks", [])}:
            return f"no lifecycle hook {hook!r} on group {group!r}"
        return None
