"""LLMClient over HTTP against a scripted server on 127.0.0.1, through each transport: the real litellm (with the
openai SDK beneath it) and the openai SDK alone (``transport.py``)."""

from __future__ import annotations

import random

import pytest
from fake_openai import FakeOpenAI, delay, empty, garbage, ok, status

from evolve.llm.client import LLMClient, LLMError, LLMRequest, MemoryCache, Price
from evolve.llm.transport import chosen

MODEL = "openai/scripted"
TRANSPORTS = ("litellm", "openai")
PRICE = Price(input_per_token=2e-6, output_per_token=8e-6)


def request(text: str = "Improve the heuristic.", temperature: float = 0.7, seed: int | None = 3) -> LLMRequest:
    return LLMRequest(MODEL, (("system", "You write Python."), ("user", text)), temperature, seed)


@pytest.fixture(params=TRANSPORTS)
def server(request):
    """The scripted server, talked to through each transport in turn (``client`` builds the client for it)."""
    with FakeOpenAI() as fake:
        fake.transport = request.param
        yield fake


@pytest.fixture
def provider_endpoint():
    """The scripted server standing in for a provider's own endpoint (no api_base: litellm's business)."""
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture
def delays():
    return []


def client(server, delays, **options) -> LLMClient:
    settings = dict(
        api_base=server.base_url, prices={MODEL: PRICE}, timeout_seconds=5, rng=random.Random(0),
        transport=server.transport,
    )  # fmt: skip
    return LLMClient(**{**settings, **options}, sleep=delays.append)


def test_a_reply_carries_its_text_tokens_and_price(server, delays):
    server.script(ok("def priority(): return 1", prompt_tokens=1200, completion_tokens=300))
    reply = client(server, delays).complete(request())
    assert reply.text == "def priority(): return 1"
    assert (reply.prompt_tokens, reply.completion_tokens) == (1200, 300)
    assert reply.dollars == pytest.approx(1200 * 2e-6 + 300 * 8e-6)
    assert reply.attempts == 1 and not reply.cached and 0 < reply.latency_seconds < 5
    assert delays == []
    [sent] = server.requests
    assert sent["model"] == "scripted" and sent["temperature"] == 0.7 and sent["seed"] == 3
    assert sent["messages"] == [
        {"role": "system", "content": "You write Python."},
        {"role": "user", "content": "Improve the heuristic."},
    ]


def test_max_tokens_is_sent_only_when_given(server, delays):
    server.script(ok("a"), ok("b"))
    llm = client(server, delays)
    llm.complete(LLMRequest(MODEL, (("user", "x"),), 0.5, max_tokens=64))
    llm.complete(LLMRequest(MODEL, (("user", "x"),), 0.5))
    assert server.requests[0]["max_tokens"] == 64 and "max_tokens" not in server.requests[1]
    assert "seed" not in server.requests[1]


def test_a_rate_limit_waits_as_long_as_retry_after_says(server, delays):
    server.script(status(429, headers={"Retry-After": "0.2"}), ok("after the wait"))
    reply = client(server, delays).complete(request())
    assert reply.text == "after the wait" and reply.attempts == 2 and len(server.requests) == 2
    [waited] = delays
    assert 0.2 <= waited <= 0.22


def test_a_rate_limit_without_retry_after_backs_off_exponentially_with_jitter(server, delays):
    server.script(status(429), status(429), ok("fine"))
    reply = client(server, delays, backoff_seconds=1.0).complete(request())
    assert reply.attempts == 3
    assert 0.5 <= delays[0] <= 1.5 and 1.0 <= delays[1] <= 3.0


def test_server_errors_are_retried_until_an_answer_comes(server, delays):
    server.script(status(500), status(503), ok("third time"))
    reply = client(server, delays).complete(request())
    assert reply.text == "third time" and reply.attempts == 3 and len(delays) == 2


@pytest.mark.parametrize("code", [502, 504, 529])
def test_other_gateway_and_overload_statuses_are_retried_too(server, delays, code):
    server.script(status(code), ok("recovered"))
    assert client(server, delays).complete(request()).attempts == 2


def test_backoff_never_exceeds_its_cap(server, delays):
    server.script(*[status(502)] * 5, ok("late"))
    client(server, delays, max_attempts=6, backoff_seconds=1.0, backoff_max_seconds=2.0).complete(request())
    assert len(delays) == 5 and max(delays) <= 2.0 * 1.5


def test_a_reply_slower_than_the_timeout_is_abandoned_and_retried(server, delays):
    server.script(delay(2.0, ok("too late")), ok("in time"))
    reply = client(server, delays, timeout_seconds=0.5).complete(request())
    assert reply.text == "in time" and reply.attempts == 2 and len(server.requests) == 2


def test_repeated_server_errors_give_up_after_max_attempts(server, delays):
    server.script(*[status(500)] * 3)
    with pytest.raises(LLMError) as failure:
        client(server, delays, max_attempts=3).complete(request())
    assert failure.value.kind == "server" and failure.value.attempts == 3
    assert len(server.requests) == 3 and len(delays) == 2
    assert "\n" not in str(failure.value) and "attempt 3 of 3" in str(failure.value)


def test_a_body_that_is_not_json_fails_at_once_as_malformed(server, delays):
    server.script(garbage(), ok("never asked for"))
    with pytest.raises(LLMError) as failure:
        client(server, delays).complete(request())
    assert failure.value.kind == "malformed" and failure.value.attempts == 1
    assert len(server.requests) == 1 and delays == []


def test_empty_content_fails_at_once(server, delays):
    server.script(empty(), ok("   \n"))
    llm = client(server, delays)
    for _ in range(2):
        with pytest.raises(LLMError) as failure:
            llm.complete(request())
        assert failure.value.kind == "empty" and failure.value.attempts == 1
    assert len(server.requests) == 2 and delays == []


@pytest.mark.parametrize(
    "code, kind",
    [
        (401, "auth"),
        (403, "auth"),
        (400, "bad_request"),
        (404, "bad_request"),
        (413, "bad_request"),
        (422, "bad_request"),
    ],
)
def test_client_errors_are_not_retried(server, delays, code, kind):
    server.script(status(code), ok("never asked for"))
    with pytest.raises(LLMError) as failure:
        client(server, delays).complete(request())
    assert failure.value.kind == kind and failure.value.attempts == 1 and len(server.requests) == 1


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_refused_connection_is_a_retried_server_error(delays, transport):
    with FakeOpenAI() as gone:
        base_url = gone.base_url
    llm = LLMClient(api_base=base_url, timeout_seconds=2, max_attempts=2, sleep=delays.append, transport=transport)
    with pytest.raises(LLMError) as failure:
        llm.complete(request())
    assert failure.value.kind == "server" and failure.value.attempts == 2 and len(delays) == 1


def test_a_key_missing_from_the_environment_is_an_auth_failure_and_not_retried(delays, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    llm = LLMClient(timeout_seconds=2, max_attempts=3, sleep=delays.append)  # the provider's own endpoint
    with pytest.raises(LLMError) as failure:
        llm.complete(LLMRequest("openai/gpt-4o-mini", (("user", "hi"),), 0.5, 1))
    assert failure.value.kind == "auth" and failure.value.attempts == 1 and delays == []
    assert "OPENAI_API_KEY" in failure.value.reason


def test_a_cache_hit_sends_no_request(server, delays):
    server.script(ok("remembered", prompt_tokens=100, completion_tokens=10))
    cache = MemoryCache()
    first = client(server, delays, cache=cache).complete(request())
    again = client(server, delays, cache=cache).complete(request())
    assert len(server.requests) == 1
    assert again.cached and not first.cached
    assert (again.text, again.dollars, again.prompt_tokens) == (first.text, first.dollars, first.prompt_tokens)


def test_offline_a_miss_is_a_replay_miss_and_a_hit_is_served(server, delays):
    cache = MemoryCache()
    server.script(ok("recorded"))
    client(server, delays, cache=cache).complete(request())
    offline = client(server, delays, cache=cache, offline=True)
    assert offline.complete(request()).text == "recorded"
    with pytest.raises(LLMError) as failure:
        offline.complete(request("Something never asked."))
    assert failure.value.kind == "replay_miss" and failure.value.attempts == 0
    assert len(server.requests) == 1


def test_failures_are_not_cached(server, delays):
    cache = MemoryCache()
    server.script(empty(), ok("second try"))
    llm = client(server, delays, cache=cache)
    with pytest.raises(LLMError):
        llm.complete(request())
    assert len(cache) == 0 and llm.complete(request()).text == "second try" and len(cache) == 1


def test_the_cache_key_depends_on_what_changes_the_answer():
    assert request().key() == request().key() and len(request().key()) == 64
    assert request(temperature=0.7).key() != request(temperature=0.8).key()
    assert request(seed=1).key() != request(seed=2).key()
    assert request("a").key() != request("b").key()
    assert request().key() != LLMRequest("openai/other", request().messages, 0.7, 3).key()
    assert request(temperature=1).key() == request(temperature=1.0).key()
    assert (
        LLMRequest(MODEL, (("user", "x"),), 0.5, max_tokens=10).key() == LLMRequest(MODEL, (("user", "x"),), 0.5).key()
    )


def test_a_local_server_without_a_price_costs_nothing(server, delays):
    server.script(ok("free", prompt_tokens=5000, completion_tokens=500))
    reply = client(server, delays, prices=None).complete(request())
    assert reply.dollars == 0.0 and reply.prompt_tokens == 5000


def test_without_api_base_litellm_prices_known_models_and_flags_unknown_ones(provider_endpoint, delays, monkeypatch):
    server = provider_endpoint
    # The provider's endpoint, as litellm finds it in the environment, is our fake server.
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.setenv("OPENAI_API_BASE", server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
    server.script(ok("priced", prompt_tokens=1000, completion_tokens=100), ok("unpriced"))
    llm = LLMClient(timeout_seconds=5, sleep=delays.append)
    known = llm.complete(LLMRequest("openai/gpt-4o-mini", (("user", "x"),), 0.5))
    assert known.dollars > 0 and not llm.cost_unknown and len(server.requests) == 1  # it went to the fake
    unknown = llm.complete(LLMRequest("openai/no-such-model-anywhere", (("user", "x"),), 0.5))
    assert unknown.dollars == 0.0 and llm.cost_unknown == {"openai/no-such-model-anywhere"}


def test_the_fake_server_says_when_its_script_is_used_up(server, delays):
    with pytest.raises(LLMError) as failure:
        client(server, delays, max_attempts=1).complete(request())
    assert "script exhausted" in str(failure.value)


def test_an_openai_model_at_an_api_base_goes_through_the_sdk_and_the_rest_through_litellm():
    assert chosen("auto", "openai/qwen", "http://127.0.0.1:8000/v1") == "openai"
    assert chosen("auto", "openai/gpt-4o-mini", None) == "litellm"  # the provider's endpoint
    assert chosen("auto", "ollama/qwen2.5-coder", "http://127.0.0.1:11434") == "litellm"
    assert chosen("litellm", "openai/qwen", "http://127.0.0.1:8000/v1") == "litellm"
    with pytest.raises(ValueError, match="needs an api_base"):
        chosen("openai", "ollama/qwen2.5-coder", "http://127.0.0.1:11434")
    with pytest.raises(ValueError, match="transport must be one of"):
        LLMClient(transport="grpc")


def test_the_key_in_the_environment_is_sent_and_a_dummy_one_without_it(server, delays, monkeypatch):
    server.script(ok("with the key"), ok("without"))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-of-the-local-server")
    client(server, delays).complete(request())
    monkeypatch.delenv("OPENAI_API_KEY")
    client(server, delays).complete(request("another"))
    assert server.keys[0] == "sk-test-of-the-local-server"
    assert server.keys[1] and server.keys[1] != server.keys[0]  # a local server wants some key, any key
