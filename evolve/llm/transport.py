"""How a request reaches a model: litellm for any provider, or the openai SDK straight to an OpenAI-compatible
server.

litellm translates between providers. For an ``openai/<name>`` model behind an ``api_base`` (vLLM, SGLang,
llama.cpp, Ollama's ``/v1``) there is nothing to translate: litellm makes the very request the openai SDK makes,
after about 6 ms of its own work per call (litellm 1.110 on the 2-core machine: 9.2 ms a call, against 2.9 ms
for the SDK's client reused), and a loop whose model is local spends most of its CPU there. So that case goes
through the SDK directly, on one client shared by every thread; every other model goes through litellm.

Both are imported on first use (litellm costs 2-3 s and 160 MB): runs without an LLM mutator, tests and
candidate processes never pay for them. Neither retries (``max_retries=0``): the client retries itself, so every
HTTP attempt is counted and every wait is visible.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any, Protocol

from evolve.llm import errors

if TYPE_CHECKING:
    from evolve.llm.request import LLMRequest, Price

DUMMY_API_KEY = "sk-adrs-local-no-key"  # local OpenAI-compatible servers want some key, and ignore it
OPENAI_COMPATIBLE = "openai/"  # litellm's prefix for "any server speaking the OpenAI API"
TRANSPORTS = ("auto", "litellm", "openai")


class Transport(Protocol):
    """Sends one HTTP attempt; the response has the openai SDK's shape (``choices``, ``usage``)."""

    def send(self, request: LLMRequest) -> Any: ...

    def kind_of(self, exc: BaseException) -> str:
        """The failure kind (``client.LLMError.kind``) of an exception ``send`` raised."""
        ...


class LiteLLM:
    """Any provider litellm knows, with keys from the environment as litellm reads them."""

    def __init__(self, api_base: str | None, prices: dict[str, Price], timeout_seconds: float):
        self.litellm = litellm_module()
        self.api_base, self.prices, self.timeout_seconds = api_base, prices, timeout_seconds
        self._keys_missing: dict[str, bool] = {}  # by model: the environment is read once

    def send(self, request: LLMRequest) -> Any:
        return self.litellm.completion(**self._arguments(request))

    def kind_of(self, exc: BaseException) -> str:
        return errors.kind_of(self.litellm, exc)

    def _arguments(self, request: LLMRequest) -> dict[str, Any]:
        arguments: dict[str, Any] = {
            "model": request.model,
            "messages": [{"role": role, "content": content} for role, content in request.messages],
            "temperature": request.temperature,
            "timeout": self.timeout_seconds,
            "max_retries": 0,  # the openai SDK would otherwise retry twice, unseen and uncounted
            "drop_params": True,  # a provider without seeds (or fixed temperature) still answers
        }
        if request.seed is not None:
            arguments["seed"] = request.seed
        if request.max_tokens is not None:
            arguments["max_tokens"] = request.max_tokens
        if self.api_base:
            arguments["api_base"] = self.api_base
            if self._key_missing(request.model):
                arguments["api_key"] = DUMMY_API_KEY
        price = self.prices.get(request.model)
        if price is not None or self.api_base:  # what the client counts it at; litellm skips its own lookup
            arguments["input_cost_per_token"] = price.input_per_token if price else 0.0
            arguments["output_cost_per_token"] = price.output_per_token if price else 0.0
        return arguments

    def _key_missing(self, model: str) -> bool:
        if model not in self._keys_missing:
            self._keys_missing[model] = bool(missing_keys(self.litellm, model, self.api_base))
        return self._keys_missing[model]


class OpenAICompatible:
    """An ``openai/<name>`` model at ``api_base``, asked for ``<name>`` (as litellm would) with the key in
    ``OPENAI_API_KEY``, or a dummy one for a server that wants none."""

    def __init__(self, api_base: str, timeout_seconds: float):
        import openai

        key = os.environ.get("OPENAI_API_KEY") or DUMMY_API_KEY
        self.client = openai.OpenAI(base_url=api_base, api_key=key, max_retries=0, timeout=timeout_seconds)

    def send(self, request: LLMRequest) -> Any:
        optional: dict[str, Any] = {}
        if request.seed is not None:
            optional["seed"] = request.seed
        if request.max_tokens is not None:
            optional["max_tokens"] = request.max_tokens
        return self.client.chat.completions.create(
            model=request.model.removeprefix(OPENAI_COMPATIBLE),
            messages=[{"role": role, "content": content} for role, content in request.messages],  # type: ignore[misc]
            temperature=request.temperature,
            **optional,
        )

    def kind_of(self, exc: BaseException) -> str:
        return errors.kind_of_openai(exc)


def chosen(transport: str, model: str, api_base: str | None) -> str:
    """``litellm`` or ``openai``: what ``transport`` (one of ``TRANSPORTS``) means for ``model``."""
    if transport != "auto":
        if transport == "openai" and not (api_base and model.startswith(OPENAI_COMPATIBLE)):
            raise ValueError(f"the openai transport needs an api_base and an openai/ model, not {model!r}")
        return transport
    return "openai" if api_base and model.startswith(OPENAI_COMPATIBLE) else "litellm"


def missing_keys(litellm: Any, model: str, api_base: str | None = None) -> list[str]:
    """The key variables litellm says ``model``'s provider needs and the environment lacks."""
    try:
        missing = litellm.validate_environment(model=model, api_base=api_base or "").get("missing_keys") or []
    except Exception:  # a provider litellm cannot check; let it use whatever it finds
        return []
    return [name for name in missing if "KEY" in name or "TOKEN" in name]


_import_lock = threading.Lock()


def litellm_module() -> Any:
    """litellm, imported on first use with its network price fetch and its banners turned off."""
    with _import_lock:
        # Without this the import blocks up to 5 s trying to download a price map, then warns.
        os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        import litellm

        litellm.suppress_debug_info = True  # no "Give Feedback / Get Help" banner on errors
        litellm.set_verbose = False
        return litellm
