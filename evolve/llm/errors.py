"""How litellm's and the openai SDK's exceptions map to adrs's failure kinds, and how long a provider asks us to
wait."""

from __future__ import annotations

import email.utils
import time
from typing import Any


def kind_of(litellm: Any, exc: BaseException) -> str:
    """Our kind for a litellm exception, as observed against a real HTTP server (litellm 1.106, openai provider).

    ``Timeout`` (also raised for 408 and 504) is checked first, since it subclasses ``APIConnectionError``.
    ``RateLimitError`` (429) -> rate_limit; ``AuthenticationError`` (401), ``PermissionDeniedError`` -> auth;
    ``BadRequestError`` (400, 422, context window, unsupported params), ``NotFoundError`` (404) -> bad_request;
    ``ServiceUnavailableError`` (503), ``BadGatewayError`` (502), ``APIConnectionError`` -> server.
    litellm raises ``InternalServerError`` alike for a 500, a refused connection and a 200 whose body is not
    JSON, and a plain ``APIError`` for statuses it has no class for (403, 413, 529): there the cause chain
    and the status code decide. A key missing from the environment (the openai SDK refuses to send the request)
    comes as an ``InternalServerError`` too, and is ``auth``.
    """
    if isinstance(exc, litellm.Timeout):
        return "timeout"
    if isinstance(exc, litellm.RateLimitError):
        return "rate_limit"
    if isinstance(exc, (litellm.AuthenticationError, litellm.PermissionDeniedError)):
        return "auth"
    if isinstance(exc, (litellm.BadRequestError, litellm.NotFoundError, litellm.UnprocessableEntityError)):
        return "bad_request"
    if isinstance(exc, (litellm.ServiceUnavailableError, litellm.BadGatewayError, litellm.APIConnectionError)):
        return "server"
    if _missing_credentials(exc):  # litellm calls it a 500, but no request was sent: retrying cannot help
        return "auth"
    if isinstance(exc, (litellm.InternalServerError, litellm.APIError)):
        return "malformed" if _unparseable_body(exc) else _kind_of_status(getattr(exc, "status_code", None))
    return "other"


def kind_of_openai(exc: BaseException) -> str:
    """Our kind for an exception of the openai SDK (openai 2.x), as observed against a real HTTP server.

    ``APITimeoutError`` subclasses ``APIConnectionError``, so it is checked first; a refused or dropped
    connection is ``server``; an error status is judged by its code alone (the SDK's classes follow the codes);
    a 200 whose body is not JSON comes as the decoder's ``ValueError`` and is ``malformed``.
    """
    import openai

    if isinstance(exc, openai.APITimeoutError):
        return "timeout"
    if isinstance(exc, openai.APIConnectionError):
        return "server"
    if isinstance(exc, openai.APIStatusError):
        return _kind_of_status(exc.status_code)
    if isinstance(exc, (openai.APIResponseValidationError, ValueError)):
        return "malformed"
    return "other"


def _kind_of_status(code: object) -> str:
    if not isinstance(code, int):
        return "other"
    if code in (401, 403):
        return "auth"
    if code == 429:
        return "rate_limit"
    if code == 408:
        return "timeout"
    if code >= 500:
        return "server"
    return "bad_request" if 400 <= code < 500 and code != 409 else "other"  # 409: a conflict, not our request


def _missing_credentials(exc: BaseException) -> bool:
    """True when the openai SDK refused to send the request for want of a key (its error, not a server's)."""
    import openai

    return any(
        isinstance(c, openai.OpenAIError) and not isinstance(c, openai.APIError) and "credentials" in str(c).lower()
        for c in _causes(exc)[1:]
    )


def _unparseable_body(exc: BaseException) -> bool:
    """True when the server sent no error status, yet litellm could not read its answer."""
    import httpx
    import openai

    causes = _causes(exc)[1:]
    if any(isinstance(c, (openai.APIStatusError, openai.APIConnectionError, httpx.TransportError)) for c in causes):
        return False
    return any(isinstance(c, ValueError) for c in causes) or "invalid response" in str(exc).lower()


def _causes(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(chain) < 20 and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def retry_after(exc: BaseException) -> float | None:
    """Seconds from a Retry-After (or retry-after-ms) header of the failed response, if it sent one."""
    headers = getattr(exc, "litellm_response_headers", None)  # where litellm keeps the provider's headers
    if headers is None:
        headers = getattr(getattr(exc, "response", None), "headers", None)
    if not headers:
        return None
    try:
        milliseconds = headers.get("retry-after-ms")
        if milliseconds is not None:
            return max(0.0, float(milliseconds) / 1000)
        value = headers.get("retry-after")
        if value is None:
            return None
        try:
            return max(0.0, float(value))
        except ValueError:  # the HTTP-date form
            return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError, AttributeError):
        return None
