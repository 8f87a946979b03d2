"""The llm mutator, through litellm, against a real OpenAI-compatible server on 127.0.0.1 with scripted replies."""

from __future__ import annotations

import random

import pytest
from fake_openai import FakeOpenAI, garbage, ok
from tardiness_diffs import GOOD_DIFF, MISSING_DIFF, OUTSIDE_DIFF

from evaluators.evaluator import Evaluator
from evaluators.pool import LocalPool
from evolve.llm.client import LLMClient, Price
from evolve.mutator import MutationContext, ProgramView
from evolve.mutators.llm import LLMMutator, ModelChoice
from problems import registry

MODEL = "openai/scripted"


@pytest.fixture
def server():
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture
def problem():
    return registry.load("tardiness")


def mutator(server, problem, calls, **options) -> LLMMutator:
    client = LLMClient(
        api_base=server.base_url, prices={MODEL: Price(1e-6, 2e-6)}, timeout_seconds=5, sleep=lambda _: None
    )
    return LLMMutator(client, [ModelChoice(MODEL)], problem.spec, calls.append, **options)


def context(problem) -> MutationContext:
    seed = ProgramView(1, problem.seed_program().read_text(), {"gap": 8.2, "time_ms": 0.2})
    return MutationContext(seed, [], problem.objectives, random.Random(0), lambda codes: [None] * len(codes))


def test_a_scripted_diff_becomes_a_child_that_beats_the_seed(server, problem):
    server.script(ok(GOOD_DIFF, prompt_tokens=1000, completion_tokens=100))
    calls = []
    [child] = mutator(server, problem, calls, rewrite_share=0.0).propose(context(problem))
    assert "look_ahead = 2.0" in child.code and child.model == MODEL and child.parent_ids == (1,)
    assert child.note == "Use ATC's usual look-ahead and drop the due-date term."
    assert [c.status for c in calls] == ["applied"] and "+    look_ahead = 2.0" in calls[0].detail
    assert calls[0].reply.dollars == pytest.approx(1000 * 1e-6 + 100 * 2e-6)
    assert server.requests[0]["model"] == "scripted"
    pool = LocalPool(problem.spec.runner, problem.spec.entry_point, 2.0, 1)
    try:
        seed, improved = Evaluator(problem, pool).evaluate_many(
            [problem.seed_program().read_text(), child.code], "train"
        )
    finally:
        pool.close()
    assert improved.metrics["gap"] < seed.metrics["gap"]


def test_a_reply_that_does_not_match_is_sent_back_once_with_the_reason(server, problem):
    server.script(ok(MISSING_DIFF), ok(GOOD_DIFF))
    calls = []
    [child] = mutator(server, problem, calls, rewrite_share=0.0).propose(context(problem))
    assert [c.status for c in calls] == ["edit_failed", "applied"]
    repair = server.requests[1]["messages"]
    assert repair[-2]["role"] == "assistant" and repair[-2]["content"] == MISSING_DIFF
    assert calls[0].detail in repair[-1]["content"]


def test_edits_outside_the_block_and_garbage_are_recorded_failures(server, problem):
    server.script(ok(OUTSIDE_DIFF), ok(OUTSIDE_DIFF), garbage())
    calls = []
    llm = mutator(server, problem, calls, rewrite_share=0.0)
    assert llm.propose(context(problem)) == []
    assert [c.status for c in calls] == ["edit_failed", "edit_failed"]
    assert "outside" in calls[0].detail
    assert llm.propose(context(problem)) == []
    assert calls[-1].status == "call_failed" and calls[-1].reply is None


def test_rewrite_mode_replaces_the_whole_block(server, problem):
    block = "def priority(pj, wj, dj, t, p_mean):\n    return wj / pj\n"
    server.script(ok(f"Plain WSPT.\n```python\n{block}```\n"))
    calls = []
    [child] = mutator(server, problem, calls, rewrite_share=1.0).propose(context(problem))
    assert "return wj / pj" in child.code and "look_ahead" not in child.code


def test_model_weights_parse_from_the_command_line_form():
    assert ModelChoice.parse("ollama/qwen2.5-coder:7b@0.3") == ModelChoice("ollama/qwen2.5-coder:7b", 0.3)
    assert ModelChoice.parse("openai/gpt-4o-mini") == ModelChoice("openai/gpt-4o-mini", 1.0)
