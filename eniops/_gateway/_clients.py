"""Building EC2 clients: one layer of retries, short timeouts, a role to assume.

Clients eniops builds have botocore's retries off; on a client passed in as `ec2=`, a
`needs-retry` handler registered first answers "no retry" for eniops' own calls (and only
for them), so the caller's client is otherwise untouched. A role's credentials come from
STS when the first call is signed and are refreshed before they expire.
"""

from __future__ import annotations

import functools
import os
import re
import threading
from collections.abc import Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from .._core._errors import InvalidInput, PermissionDenied
from .._core._version import user_agent

if TYPE_CHECKING:
    import boto3
    from mypy_boto3_ec2 import EC2Client

#: STS's limit on a role session's name.
SESSION_NAME_MAX = 64


def role_session_name(instance: str | None = None) -> str:
    """The session name of an assumed role, as CloudTrail shows it: ``eniops-<instance or
    host>-<pid>`` (the Lambda function's name for the host), within STS's 64 characters and
    its alphabet, so that CloudTrail tells nodes and processes apart."""
    # Lazy: socket (3 ms) only to name an assumed role's session.
    import socket  # noqa: PLC0415

    who = instance or os.environ.get("AWS_LAMBDA_FUNCTION_NAME") or socket.gethostname()
    who = re.sub(r"[^\w+=,.@-]", "-", who or "host")
    suffix = f"-{os.getpid()}"
    return f"eniops-{who}"[: SESSION_NAME_MAX - len(suffix)] + suffix


_eniops_call = threading.local()


class _NoRetry(Exception):  # a signal out of botocore's retry loop
    """An error answer to an eniops call, handed back before botocore could retry it."""

    def __init__(self, response: Any, operation: str) -> None:
        super().__init__(operation)
        self.response = response
        self.operation = operation


def _veto_retry(
    response: Any = None, caught_exception: Any = None, operation: Any = None, **_: Any
) -> None:
    """`needs-retry` handler, first in line: for eniops' own calls, end botocore's retry loop
    at the first failure (eniops retries them itself); other calls are left alone.

    It raises rather than answering "no retry", which botocore versions read differently
    (older ones take False as "retry after 0 seconds").
    """
    if not getattr(_eniops_call, "active", False):
        return
    if caught_exception is not None:
        raise caught_exception
    http = response[0] if response else None
    if http is not None and getattr(http, "status_code", 200) >= 300:
        raise _NoRetry(response, getattr(operation, "name", ""))


class UnreadableAnswer(Exception):
    """An answer to an eniops call that is not the service's: an HTML page (a proxy, a VPC
    endpoint misconfigured) or a body botocore could not parse. It names the endpoint and
    the HTTP status (None when not known)."""

    def __init__(self, endpoint: str, status: int | None, what: str) -> None:
        super().__init__(f"{endpoint} answered HTTP {status or '?'} with {what}")
        self.endpoint = endpoint
        self.status = status


def _refuse_html(endpoint: str, response_dict: Any = None, **_: Any) -> None:
    """`before-parse` handler: for eniops' own calls, note the HTTP status (for a body that
    then fails to parse) and refuse an HTML page before botocore parses it as an answer (an
    XHTML page parses, into nothing: an EC2 list that looks empty)."""
    if not getattr(_eniops_call, "active", False) or not response_dict:
        return
    status = response_dict.get("status_code")
    _eniops_call.status = status
    headers = response_dict.get("headers") or {}
    kind = str(headers.get("content-type") or headers.get("Content-Type") or "").lower()
    start = bytes(response_dict.get("body") or b"")[:64].lstrip().lower()
    if kind.startswith("text/html") or start.startswith((b"<!doctype html", b"<html")):
        raise UnreadableAnswer(endpoint, status, "an HTML page, not the service's answer")


def _single_layer(client: Any) -> None:
    """Make botocore leave retries of eniops' calls to eniops, and refuse an answer that is
    not the service's (idempotent)."""
    service = client.meta.service_model.service_id.hyphenize()
    events = client.meta.events
    events.register_first(
        f"needs-retry.{service}", _veto_retry, unique_id="eniops-single-retry-layer"
    )
    events.register_first(
        f"before-parse.{service}",
        functools.partial(_refuse_html, str(client.meta.endpoint_url)),
        unique_id="eniops-unreadable-answers",
    )


@functools.lru_cache(maxsize=1)
def known_regions() -> frozenset[str]:
    """Every region of every partition in botocore's own data (read once, when first asked;
    pseudo-regions such as ``aws-global`` aside)."""
    # Lazy: botocore (95 ms) stays out of `import eniops`, the Lambda's init and a command that
    # calls nothing, until a client is built.
    from botocore.exceptions import DataNotFoundError  # noqa: PLC0415
    from botocore.loaders import create_loader  # noqa: PLC0415

    loader = create_loader()
    try:
        partitions = loader.load_data("partitions")["partitions"]
    except DataNotFoundError:  # an older botocore: its endpoint data names the regions
        partitions = loader.load_data("endpoints")["partitions"]
    found = {name for p in partitions for name in p.get("regions", {})}
    return frozenset(name for name in found if not name.endswith("-global"))


def configured_region(profile: str | None = None) -> tuple[str | None, str]:
    """The region a client built with none named would use, and where it is set: the
    environment (`AWS_DEFAULT_REGION`) or the profile's `region`, as botocore resolves them
    (None when neither sets one, or the configuration does not read: building the client
    says why)."""

    # Lazy: botocore (95 ms) stays out of `import eniops`, the Lambda's init and a command that
    # calls nothing, until a client is built.
    import botocore.session  # noqa: PLC0415
    from botocore.exceptions import BotoCoreError  # noqa: PLC0415

    if os.environ.get("AWS_DEFAULT_REGION"):
        return os.environ["AWS_DEFAULT_REGION"], "AWS_DEFAULT_REGION"
    try:
        session = botocore.session.Session(profile=profile)
        value = session.get_config_variable("region")
    except BotoCoreError:
        return None, ""
    return (str(value) if value else None), f"the region of profile {session.profile or 'default'}"


def imds_settings(profile: str | None = None) -> dict[str, str | None]:
    """Where instance metadata is, as botocore resolves it for `profile`: the environment
    (`AWS_EC2_METADATA_SERVICE_ENDPOINT`, `…_ENDPOINT_MODE`), then the profile's
    `ec2_metadata_service_endpoint` and `ec2_metadata_service_endpoint_mode`."""
    # Lazy: botocore (95 ms) stays out of `import eniops`, the Lambda's init and a command that
    # calls nothing, until a client is built.
    import botocore.session  # noqa: PLC0415
    from botocore.exceptions import BotoCoreError  # noqa: PLC0415

    try:
        session = botocore.session.Session(profile=profile)
        found = {
            key: session.get_config_variable(f"ec2_metadata_service_{name}")
            for key, name in (("endpoint", "endpoint"), ("mode", "endpoint_mode"))
        }
    except BotoCoreError as err:
        raise InvalidInput(f"the AWS configuration does not read: {err}") from err
    return {key: str(value) if value else None for key, value in found.items()}


def _config(timeout_s: float | None) -> Any:
    """One layer of retries (eniops'), short timeouts, eniops' user agent."""
    # Lazy: botocore (95 ms) stays out of `import eniops`, the Lambda's init and a command that
    # calls nothing, until a client is built.
    from botocore.config import Config  # noqa: PLC0415

    return Config(
        retries={"mode": "standard", "total_max_attempts": 1},
        connect_timeout=min(3.0, timeout_s or 3.0),
        read_timeout=min(20.0, timeout_s or 20.0),
        user_agent_extra=user_agent(),
        max_pool_connections=50,
    )


def build_client(
    *,
    service: str = "ec2",
    ec2: EC2Client | None = None,
    session: boto3.session.Session | None = None,
    region: str | None = None,
    role_arn: str | None = None,
    endpoint_url: str | None = None,
    timeout_s: float | None = None,
    profile: str | None = None,
    external_id: str | None = None,
    instance: str | None = None,
) -> EC2Client:
    """Return `ec2` as given, else a client of `service` (EC2 unless another is named: the
    Lambda reads alarms, completes lifecycle actions and holds a lease) from `session` (or a
    session of the named AWS `profile`, or the default session).

    With `role_arn`, the client uses that role's credentials (STS AssumeRole, session name
    `role_session_name(instance)`, `external_id` when given), fetched when the first call is
    signed and refreshed before they expire.
    Clients built here have botocore's retries off and short timeouts.
    """
    if ec2 is not None:
        _single_layer(ec2)
        return ec2
    # Lazy: boto3 and botocore (109 ms) load when the first client is built: never for
    # `import eniops`, the Lambda's init or a command that calls nothing.
    import boto3.session  # noqa: PLC0415
    from botocore.exceptions import BotoCoreError  # noqa: PLC0415

    try:
        chosen = session if session is not None else boto3.session.Session(profile_name=profile)
        if role_arn is not None:
            role = {"RoleSessionName": role_session_name(instance)}
            role.update({"ExternalId": external_id} if external_id else {})
            chosen = _assumed(chosen, role_arn, region, role)
        client: EC2Client = chosen.client(  # another service's client: typed as EC2's
            service,  # type: ignore[call-overload]
            region_name=region,
            endpoint_url=endpoint_url,
            config=_config(timeout_s),
        )
    except BotoCoreError as err:
        raise InvalidInput(f"cannot build an {service} client: {err}") from err
    _single_layer(client)
    return client


def _assumed(
    session: boto3.session.Session, role_arn: str, region: str | None, role: dict[str, str]
) -> boto3.session.Session:
    """A session whose credentials are `role_arn`'s (AssumeRole with the arguments in
    `role`), refreshed through STS as they expire, put first in the session's chain of
    credential providers (botocore's public way in)."""
    # Lazy: boto3 and botocore (109 ms) load when the first client is built: never for
    # `import eniops`, the Lambda's init or a command that calls nothing.
    import boto3.session  # noqa: PLC0415
    import botocore.session  # noqa: PLC0415
    from botocore.config import Config  # noqa: PLC0415
    from botocore.credentials import AssumeRoleCredentialFetcher  # noqa: PLC0415

    source = session.get_credentials()
    if source is None:
        raise PermissionDenied(
            f"no credentials to assume {role_arn} with", code="NoCredentialsError", operation="STS"
        )
    region_name = region or session.region_name
    # One layer of retries: a refused AssumeRole fails the EC2 call it signs, which eniops'
    # own retries send again (within the deadline), never retried inside it as well.
    sts_config = Config(
        retries={"mode": "standard", "total_max_attempts": 1},
        connect_timeout=3.0,
        read_timeout=5.0,
        user_agent_extra=user_agent(),
    )

    def sts_client(service: str, **credentials: Any) -> Any:
        client: Any = session.client
        return client(service, region_name=region_name, config=sts_config, **credentials)

    fetcher = AssumeRoleCredentialFetcher(
        client_creator=sts_client,
        source_credentials=source,
        role_arn=role_arn,
        extra_args=role,
    )
    core = botocore.session.Session()
    provider = _role_provider(_checked_refresh(fetcher.fetch_credentials, role_arn))
    core.get_component("credential_provider").insert_before("env", provider)
    return boto3.session.Session(botocore_session=core, region_name=region_name)


def _role_provider(refresh: Callable[[], dict[str, Any]]) -> Any:
    """botocore's `CredentialProvider` of a role's refreshing credentials (its classes
    imported only when a role is assumed)."""
    # Lazy: botocore (95 ms) stays out of `import eniops`, the Lambda's init and a command that
    # calls nothing, until a client is built.
    from botocore.credentials import (  # noqa: PLC0415
        CredentialProvider,
        DeferredRefreshableCredentials,
    )

    class RoleProvider(CredentialProvider):
        METHOD = "assume-role"
        CANONICAL_NAME = "eniops-assume-role"

        def load(self) -> Any:
            return DeferredRefreshableCredentials(method=self.METHOD, refresh_using=refresh)

    return RoleProvider()


def _checked_refresh(
    fetch: Callable[[], dict[str, Any]], role_arn: str
) -> Callable[[], dict[str, Any]]:
    """`fetch` (STS AssumeRole), with what botocore would raise as a bare `KeyError` (an
    answer that does not read) or `RuntimeError` (credentials that are expired already)
    raised as its `CredentialRetrievalError`, which eniops reports as an AWS error."""
    # Lazy: botocore (95 ms) stays out of `import eniops`, the Lambda's init and a command that
    # calls nothing, until a client is built.
    from botocore.exceptions import (  # noqa: PLC0415
        BotoCoreError,
        ClientError,
        CredentialRetrievalError,
    )
    from botocore.utils import parse_timestamp  # noqa: PLC0415

    def refresh() -> dict[str, Any]:
        try:
            metadata = fetch()
            expires = parse_timestamp(metadata["expiry_time"])
        except (BotoCoreError, ClientError):
            raise
        except Exception as err:
            raise CredentialRetrievalError(
                provider="assume-role",
                error_msg=f"STS's answer to AssumeRole {role_arn} does not read "
                f"({type(err).__name__})",
            ) from err
        if expires <= datetime.now(timezone.utc):
            raise CredentialRetrievalError(
                provider="assume-role",
                error_msg=f"STS answered AssumeRole {role_arn} with credentials that expired "
                f"at {expires.isoformat()} (is this machine's clock right?)",
            )
        return metadata

    return refresh


def sibling(client: Any, service: str) -> Any:
    """A client of `service` (STS, IAM) beside EC2 client `client`: its credentials, region
    and, when it is not AWS's own (a test server), its endpoint; eniops' config. So that what
    the other service says is about the same principal as the EC2 calls.

    After it is built, the event ``eniops.sibling-created.<service>`` is emitted on `client`'s
    events with the new client as `sibling`: a test layer over `client` can answer its calls.
    """
    # Lazy: boto3 and botocore (109 ms) load when the first client is built: never for
    # `import eniops`, the Lambda's init or a command that calls nothing.
    import boto3.session  # noqa: PLC0415
    from botocore.exceptions import BotoCoreError  # noqa: PLC0415

    # botocore offers no public accessor of a client's credentials; this one exists since
    # (at least) the lowest botocore eniops supports.
    credentials = client._get_credentials()
    frozen = credentials.get_frozen_credentials() if credentials is not None else None
    endpoint = client.meta.endpoint_url or ""
    try:
        session = boto3.session.Session(
            aws_access_key_id=frozen.access_key if frozen else None,
            aws_secret_access_key=frozen.secret_key if frozen else None,
            aws_session_token=frozen.token if frozen else None,
            region_name=client.meta.region_name,
        )
        make: Any = session.client  # the service is named at run time
        made = make(
            service,
            endpoint_url=None if ".amazonaws.com" in endpoint else endpoint or None,
            config=_config(None),
        )
    except BotoCoreError as err:
        raise InvalidInput(f"cannot build an {service} client: {err}") from err
    _single_layer(made)
    client.meta.events.emit(f"eniops.sibling-created.{service}", sibling=made)
    return made
