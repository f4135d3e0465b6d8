"""IMDSv2: find "self" on an EC2 instance (token first, no IMDSv1 fallback).

The token is requested with a TTL, reused, and renewed on a 401. Connect and read timeouts
are short and retries (tenacity) bounded. The token is never logged or printed.
`AWS_EC2_METADATA_DISABLED=true` is honoured, as by the AWS CLI and SDKs.
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from dataclasses import dataclass

from ._errors import AwsError

DEFAULT_ENDPOINT = "http://169.254.169.254"
TOKEN_TTL_S = 21600


class ImdsError(AwsError):
    """Instance metadata could not be read (not on EC2, IMDS off, or hop limit too low)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code="ImdsUnavailable", operation="IMDS")


class _TokenExpired(Exception):
    """IMDS answered 401: the token expired or was revoked."""


@dataclass
class Imds:
    """A small IMDSv2 client."""

    endpoint: str = ""
    timeout_s: float = 1.0
    attempts: int = 3
    _token: str | None = None

    def __post_init__(self) -> None:
        self.endpoint = (
            self.endpoint or os.environ.get("AWS_EC2_METADATA_SERVICE_ENDPOINT") or DEFAULT_ENDPOINT
        ).rstrip("/")

    def _request(self, method: str, path: str, headers: dict[str, str]) -> str:
        request = urllib.request.Request(  # noqa: S310  (the endpoint is IMDS, http by design)
            f"{self.endpoint}{path}", method=method, headers=headers
        )
        with urllib.request.urlopen(request, timeout=self.timeout_s) as response:  # noqa: S310
            return str(response.read().decode())

    def _fresh_token(self) -> str:
        self._token = self._request(
            "PUT", "/latest/api/token", {"X-aws-ec2-metadata-token-ttl-seconds": str(TOKEN_TTL_S)}
        )
        return self._token

    def _get_once(self, path: str) -> str:
        token = self._token or self._fresh_token()
        try:
            return self._request(
                "GET", f"/latest/meta-data/{path}", {"X-aws-ec2-metadata-token": token}
            )
        except urllib.error.HTTPError as err:
            if err.code == 401:
                self._token = None  # expired or revoked: fetch a new one
                raise _TokenExpired from err
            if err.code == 404:
                raise ImdsError(f"instance metadata has no {path}") from err
            raise

    def get(self, path: str) -> str:
        """Read `/latest/meta-data/<path>` with the session token."""
        if os.environ.get("AWS_EC2_METADATA_DISABLED", "").strip().lower() == "true":
            raise ImdsError("instance metadata is disabled here (AWS_EC2_METADATA_DISABLED=true)")
        from tenacity import (  # noqa: PLC0415
            Retrying,
            retry_if_exception_type,
            stop_after_attempt,
            wait_exponential,
        )

        retrying = Retrying(
            retry=retry_if_exception_type((_TokenExpired, urllib.error.URLError, OSError)),
            stop=stop_after_attempt(self.attempts),
            wait=wait_exponential(multiplier=0.2, max=1.0),
            reraise=True,
        )
        try:
            return retrying(self._get_once, path)
        except ImdsError:
            raise
        except (_TokenExpired, urllib.error.URLError, OSError) as err:
            raise ImdsError(
                f"could not read instance metadata {path} ({type(err).__name__}): "
                "is this an EC2 instance with IMDSv2 reachable (hop limit)?"
            ) from err

    def instance_id(self) -> str:
        """This instance's id."""
        return self.get("instance-id").strip()

    def region(self) -> str:
        """This instance's region."""
        return self.get("placement/region").strip()
