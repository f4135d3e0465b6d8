"""One place turns what botocore raises, or EC2 answers, into the eniops error it stands for:
EC2's codes by their rules (`_codes`), the lower layer's own errors by one table."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn, TypeGuard

from .._core import _codes
from .._core._errors import (
    AwsError,
    Conflict,
    EniopsError,
    NotFound,
    PermissionDenied,
    PreconditionFailed,
)
from ._clients import UnreadableAnswer

if TYPE_CHECKING:
    from botocore.exceptions import ClientError


def _error_parts(err: BaseException) -> tuple[str, str, str | None, int | None]:
    response: Any = err.response if _is_client_error(err) else {}
    error = response.get("Error") or {}
    meta = response.get("ResponseMetadata") or {}
    return (
        str(error.get("Code", type(err).__name__)),
        str(error.get("Message", err)),
        meta.get("RequestId"),
        meta.get("HTTPStatusCode"),
    )


def _is_client_error(err: BaseException) -> TypeGuard[ClientError]:
    """An error EC2 (or another service) answered: botocore's `ClientError`."""
    # Lazy: botocore (95 ms) stays out of `import eniops`, the Lambda's init and a command that
    # calls nothing, until a client is built.
    from botocore.exceptions import ClientError  # noqa: PLC0415

    return isinstance(err, ClientError)


@functools.cache
def transient() -> tuple[type[BaseException], ...]:
    """botocore's network errors: EC2 may not have had the call, or its answer was lost.
    `_codes.TRANSIENT` names them (an AwsError for one carries its class name as code)."""
    # Lazy: botocore (95 ms) stays out of `import eniops`, the Lambda's init and a command that
    # calls nothing, until a client is built.
    from botocore import exceptions  # noqa: PLC0415

    return tuple(getattr(exceptions, name) for name in sorted(_codes.TRANSIENT))


def error_code(err: BaseException) -> str:
    """EC2's error code of `err` (or the exception's class name)."""
    return _error_parts(err)[0]


#: What a call that is not the operation's own was made to: the credentials an EC2 call is
#: signed with, fetched as it is made (an assumed role's, a web identity's, SSO's).
_CREDENTIAL_SERVICES = {
    "AssumeRole": "STS",
    "AssumeRoleWithWebIdentity": "STS",
    "AssumeRoleWithSAML": "STS",
    "GetSessionToken": "STS",
    "GetRoleCredentials": "SSO",
}


def answered_by(err: BaseException, operation: str) -> str:
    """Who answered with `err`: the service of `operation` (None here: its own words), or,
    when its credentials were being fetched, that service and call ("STS AssumeRole")."""
    name = err.operation_name if _is_client_error(err) else None
    if not name or name == operation:
        return ""
    return f"{_CREDENTIAL_SERVICES.get(name, 'the credential provider')} {name}"


def _answered(err: BaseException, operation: str) -> EniopsError:
    """An error EC2 answered: the eniops error its code stands for (`_codes`)."""
    code, message, request_id, status = _error_parts(err)
    rule = _codes.rule_for(code, status)
    by = answered_by(err, operation)
    context = {"code": code, "operation": operation, **({"answered_by": by} if by else {})}
    where = f"{operation} ({by}, fetching the credentials to sign it)" if by else operation
    text = f"{where}: {code}: {message}"
    if rule.translation == "permission":
        return PermissionDenied(text, code=code, operation=operation, request_id=request_id)
    if rule.translation == "not-found":
        return NotFound(text, details=context)
    if rule.translation == "conflict" and rule.reason:
        return Conflict(rule.reason, text, details=context)  # type: ignore[arg-type]
    if rule.translation == "precondition" and rule.reason:
        return PreconditionFailed(rule.reason, text, details=context)  # type: ignore[arg-type]
    return AwsError(text, code=code, operation=operation, request_id=request_id)


def _no_credentials(err: BaseException, operation: str) -> EniopsError:
    return AwsError(
        f"{operation}: no AWS credentials found ({err}); looked in the environment "
        "(AWS_ACCESS_KEY_ID, AWS_PROFILE), the shared credentials and config files, the "
        "container's and the instance's metadata",
        code=_codes.NO_CREDENTIALS,
        operation=operation,
    )


def _unreadable(err: BaseException, operation: str) -> EniopsError:
    return AwsError(
        f"{operation}: {err}: a proxy, or an endpoint that is not the service's?",
        code=_codes.UNREADABLE_ANSWER,
        operation=operation,
    )


def _unanswered(err: BaseException, operation: str) -> EniopsError:
    return AwsError(f"{operation}: {err}", code=type(err).__name__, operation=operation)


Translation = Callable[[BaseException, str], EniopsError]


@functools.cache
def _table() -> dict[type[BaseException], Translation]:
    """What botocore raises, by class, and what each is in eniops: the most specific class
    of an error decides (botocore is loaded by then: it raised the error)."""
    # Lazy: botocore (95 ms) stays out of `import eniops`, the Lambda's init and a command that
    # calls nothing, until a client is built.
    from botocore import exceptions  # noqa: PLC0415

    return {
        UnreadableAnswer: _unreadable,
        exceptions.ClientError: _answered,
        exceptions.NoCredentialsError: _no_credentials,
        exceptions.PartialCredentialsError: _no_credentials,
        exceptions.BotoCoreError: _unanswered,  # the network, credentials, and the rest
    }


def translate(err: BaseException, operation: str) -> EniopsError | None:
    """The eniops error that `err`, raised by botocore or EC2's answer, stands for (eniops'
    own errors as they are); None for anything else (a defect, which is not translated)."""
    if isinstance(err, EniopsError):
        return err
    table = _table()
    make = next((table[cls] for cls in type(err).__mro__ if cls in table), None)
    return make(err, operation) if make is not None else None


def _raise_translated(err: BaseException, operation: str) -> NoReturn:
    translated = translate(err, operation)
    if translated is None or translated is err:
        raise err
    raise translated from err
