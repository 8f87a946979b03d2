import threading

from evolve.llm.client import LLMReply, LLMRequest
from evolve.llm.ledger import CallRecord, LLMLedger

REQUEST = LLMRequest("openai/x", (("user", "hi"),), 0.5)


def call(dollars: float, tokens: int = 100) -> CallRecord:
    return CallRecord(REQUEST, LLMReply("ok", tokens, 0, dollars, 0.1, 1), "applied", "", 1)


def in_thread(action):
    result = []
    thread = threading.Thread(target=lambda: result.append(action()))
    thread.start()
    thread.join(timeout=5)
    return result[0] if result else "blocked"


def test_calls_in_flight_count_against_the_budget_at_the_costliest_price_seen():
    ledger = LLMLedger(max_usd=0.01, concurrency=4)
    assert ledger.allows_call()
    ledger.record(call(0.004))  # spent 0.004; the costliest call so far cost 0.004
    assert in_thread(ledger.allows_call) is True  # nothing in flight: 0.004 < 0.01; this call stays in flight
    assert in_thread(ledger.allows_call) is True  # 0.004 + 1 in flight * 0.004 < 0.01
    assert in_thread(ledger.allows_call) is False  # 0.004 + 2 * 0.004 >= 0.01: would risk a second overshoot
    assert ledger.exhausted() is None


def test_no_more_calls_than_the_concurrency_are_in_flight():
    ledger = LLMLedger(concurrency=1)
    assert ledger.allows_call()
    waiting = threading.Thread(target=ledger.allows_call, daemon=True)
    waiting.start()
    waiting.join(timeout=0.3)
    assert waiting.is_alive(), "a second call must wait for the first"
    ledger.record(call(0.0))
    waiting.join(timeout=5)
    assert not waiting.is_alive()


def test_each_thread_takes_only_its_own_calls_and_spend_adds_up():
    ledger = LLMLedger(concurrency=2)
    ledger.allows_call()
    ledger.record(call(0.002, tokens=50))
    assert in_thread(lambda: (ledger.allows_call(), ledger.record(call(0.003, 70)), len(ledger.take()))[2]) == 1
    assert [c.reply.dollars for c in ledger.take()] == [0.002]
    assert ledger.take() == []
    assert (round(ledger.dollars, 6), ledger.tokens) == (0.005, 120)
