"""Checks, before a run's first iteration, that each of its models can be asked at all.

Without them a missing key, a misspelt model or a server that is down shows only as every call failing,
minutes of retries later. Each check says in one line what is wrong and what to do:

- a key: the provider's key variable is set (litellm's own list of what each provider needs);
- the model: an OpenAI-compatible server lists it (``GET /models``), or litellm knows it, or the user priced it;
- the server: an ``api_base`` answers;
- the price: with a dollar budget, every model has one (litellm's, or ``--price``), since a budget that counts
  a model at $0 enforces nothing.
"""

from __future__ import annotations

import socket
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from evolve.llm import transport as transports

PRICE_HINT = "--price {model}=IN,OUT (dollars per input and output token; 0,0 for a free local model)"


def problems(
    models: Sequence[str],
    api_base: str | None,
    priced: Mapping[str, Any],
    max_usd: float,
    transport: str = "auto",
    timeout_seconds: float = 5.0,
) -> list[str]:
    """One line per model that cannot be asked, or would be counted at $0 under a dollar budget."""
    found: list[str] = []
    for model in models:
        if transports.chosen(transport, model, api_base) == "openai":
            assert api_base
            reason = _openai_server_problem(model, api_base, timeout_seconds)
        else:
            reason = _litellm_problem(model, api_base, model in priced, timeout_seconds)
        if reason is None and max_usd and model not in priced and (api_base or not _litellm_prices(model)):
            reason = f"--max-usd would count {model} at $0, having no price for it: {PRICE_HINT.format(model=model)}"
        if reason is not None:
            found.append(reason)
    return found


def _openai_server_problem(model: str, api_base: str, timeout_seconds: float) -> str | None:
    import openai

    client = transports.OpenAICompatible(api_base, timeout_seconds).client
    try:
        served = [entry.id for entry in client.models.list()]
    except openai.APIConnectionError as exc:
        return f"cannot reach {api_base} for {model} ({_cause(exc)}): is the server up, and is --api-base right?"
    except openai.AuthenticationError:
        return f"{api_base} refused the key for {model}: set OPENAI_API_KEY to the key the server expects"
    except openai.APIStatusError:
        return None  # a server without a model list (some proxies): the first call will tell
    name = model.removeprefix(transports.OPENAI_COMPATIBLE)
    if served and name not in served:
        shown = ", ".join(sorted(served)[:8]) + (", ..." if len(served) > 8 else "")
        return f"{api_base} serves no model {name!r} (it serves {shown}): --model openai/NAME with one of them"
    return None


def _litellm_problem(model: str, api_base: str | None, priced: bool, timeout_seconds: float) -> str | None:
    if api_base:  # a server of the user's: it decides which models and keys it takes (a dummy key otherwise)
        return _unreachable(api_base, timeout_seconds, model)
    keys = transports.missing_keys(transports.litellm_module(), model)
    if keys:
        return f"{model} needs {' and '.join(keys)} in the environment (export {keys[0]}=...)"
    if not priced and _model_info(model) is None:
        return (
            f"litellm knows no model {model!r}: check the name (litellm's PROVIDER/MODEL, e.g. openai/gpt-4o-mini), "
            f"or, if it is right, give it a price: {PRICE_HINT.format(model=model)}"
        )
    return None


def _model_info(model: str) -> dict[str, Any] | None:
    """What litellm's price map holds for ``model``; None for a model it does not know."""
    try:
        return transports.litellm_module().get_model_info(model)
    except Exception:  # noqa: BLE001 - litellm raises a plain Exception for unmapped models
        return None


def _litellm_prices(model: str) -> bool:
    """Whether litellm has a non-zero price for ``model``."""
    info = _model_info(model) or {}
    return bool(info.get("input_cost_per_token") or info.get("output_cost_per_token"))


def _unreachable(api_base: str, timeout_seconds: float, model: str) -> str | None:
    """Why nothing listens at ``api_base``, or None (a TCP connection is all that is asked)."""
    parts = urlsplit(api_base)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    if not parts.hostname:
        return f"--api-base {api_base} is not a URL (e.g. http://127.0.0.1:8000/v1)"
    try:
        socket.create_connection((parts.hostname, port), timeout=timeout_seconds).close()
    except OSError as exc:
        return (
            f"cannot reach {api_base} for {model} ({exc.strerror or exc}): is the server up, and is --api-base right?"
        )
    return None


def _cause(exc: BaseException) -> str:
    root: BaseException = exc
    while root.__cause__ is not None:
        root = root.__cause__
    return " ".join(str(root).split()) or type(root).__name__
