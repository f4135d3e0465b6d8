"""IMDSv2: find "self" on an EC2 instance (token first, no IMDSv1 fallback).

The endpoint is found as the AWS CLI and SDKs find it: `AWS_EC2_METADATA_SERVICE_ENDPOINT`
or the profile's `ec2_metadata_service_endpoint`, else the default address of
`AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE` or the profile's `ec2_metadata_service_endpoint_mode`
(``IPv4``: 169.254.169.254, ``IPv6``: fd00:ec2::254). `AWS_EC2_METADATA_DISABLED=true` is
honoured. The token is requested with a TTL and reused, in this process, until shortly
before it expires (renewed at once on a 401). Connect and read timeouts are short and
retries (tenacity) bounded. The token is never logged or printed.
"""

from __future__ import annotations

import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass

from ._core._errors import ImdsError

DEFAULT_ENDPOINT = "http://169.254.169.254"
#: The default endpoint of each endpoint mode.
ENDPOINTS = {"ipv4": DEFAULT_ENDPOINT, "ipv6": "http://[fd00:ec2::254]"}
TOKEN_TTL_S = 21600
#: A token is renewed this long before it expires.
TOKEN_MARGIN_S = 60.0

#: Tokens of this process, by endpoint: (token, monotonic time it is renewed at).
_tokens: dict[str, tuple[str, float]] = {}
_tokens_lock = threading.Lock()


def endpoint_of(settings: Mapping[str, str | None]) -> str:
    """The IMDS endpoint `settings` name (``endpoint``, ``mode``: from the environment or
    the profile, as botocore resolves them), else IPv4's."""
    explicit = settings.get("endpoint")
    if explicit:
        return explicit.rstrip("/")
    mode = (settings.get("mode") or "IPv4").strip().lower()
    if mode not in ENDPOINTS:
        raise ImdsError(
            f"the instance metadata endpoint mode is {settings.get('mode')!r}: "
            "it is IPv4 or IPv6 (AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE)"
        )
    return ENDPOINTS[mode]


class _TokenExpired(Exception):
    """IMDS answered 401: the token expired or was revoked."""


class _Missing(ImdsError):
    """IMDS has no such path (404): an interface without public addresses, say."""


@dataclass
class Imds:
    """A small IMDSv2 client."""

    endpoint: str = ""
    timeout_s: float = 1.0
    attempts: int = 3

    def __post_init__(self) -> None:
        self.endpoint = (
            self.endpoint or os.environ.get("AWS_EC2_METADATA_SERVICE_ENDPOINT") or DEFAULT_ENDPOINT
        ).rstrip("/")

    @classmethod
    def configured(cls, settings: Mapping[str, str | None]) -> Imds:
        """The client of the endpoint `settings` name (see `endpoint_of`)."""
        return cls(endpoint_of(settings))

    def _request(self, method: str, path: str, headers: dict[str, str]) -> str:
        request = urllib.request.Request(  # noqa: S310  (the endpoint is IMDS, http by design)
            f"{self.endpoint}{path}", method=method, headers=headers
        )
        with urllib.request.urlopen(request, timeout=self.timeout_s) as response:  # noqa: S310
            return str(response.read().decode())

    def _token_now(self) -> str:
        """This process's token for the endpoint, fetched only when it has none that is
        still good."""
        with _tokens_lock:
            known = _tokens.get(self.endpoint)
            if known is not None and time.monotonic() < known[1]:
                return known[0]
            token = self._request(
                "PUT",
                "/latest/api/token",
                {"X-aws-ec2-metadata-token-ttl-seconds": str(TOKEN_TTL_S)},
            )
            _tokens[self.endpoint] = (token, time.monotonic() + TOKEN_TTL_S - TOKEN_MARGIN_S)
            return token

    def _get_once(self, path: str) -> str:
        token = self._token_now()
        try:
            return self._request(
                "GET", f"/latest/meta-data/{path}", {"X-aws-ec2-metadata-token": token}
            )
        except urllib.error.HTTPError as err:
            if err.code == 401:
                with _tokens_lock:  # expired or revoked: fetch a new one
                    _tokens.pop(self.endpoint, None)
                raise _TokenExpired from err
            if err.code == 404:
                raise _Missing(f"instance metadata has no {path}") from err
            raise

    def get(self, path: str) -> str:
        """Read `/latest/meta-data/<path>` with the session token."""
        if os.environ.get("AWS_EC2_METADATA_DISABLED", "").strip().lower() == "true":
            raise ImdsError("instance metadata is disabled here (AWS_EC2_METADATA_DISABLED=true)")
        # Lazy: tenacity (10 ms) loads with the first call: never for `import eniops`, the Lambda's
        # init or --help.
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

    def addresses(self) -> dict[str, list[str]]:
        """The addresses IMDS shows on this instance's primary interface: `public` (IPv4, its
        Elastic IPs among them), `private` (IPv4) and `ipv6`. IMDS catches up with EC2 after
        a while, and answers while EC2's API does not: a node reads itself here."""
        try:
            mac = self.get("mac").strip()
        except _Missing:
            return {"public": [], "private": [], "ipv6": []}
        found: dict[str, list[str]] = {}
        for key, path in (
            ("public", "public-ipv4s"),
            ("private", "local-ipv4s"),
            ("ipv6", "ipv6s"),
        ):
            try:
                found[key] = self.get(f"network/interfaces/macs/{mac}/{path}").split()
            except _Missing:
                found[key] = []
        return found
