"""`adrs run` with the llm mutator, through litellm, against a scripted OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import pytest
from fake_openai import FakeOpenAI, delay, empty, garbage, ok, status
from llm_runs import MODEL, PRICE_IN, PRICE_OUT, write_config
from tardiness_diffs import GOOD_DIFF, MISSING_DIFF, OUTSIDE_DIFF, SECOND_DIFF

from evolve.archive.store import Archive, sqlite_url
from evolve.cli.main import main

# One proposal per iteration; a reply that cannot be applied gets one repair round.
SCRIPT = [
    ok(GOOD_DIFF, prompt_tokens=1000, completion_tokens=100),  # 1: applied
    ok(MISSING_DIFF, prompt_tokens=900, completion_tokens=90),  # 2: no match ...
    garbage(),  # ... and the repair call gets a body that is not JSON
    status(429, headers={"Retry-After": "0.1"}),  # 3: rate limited, retried ...
    ok(OUTSIDE_DIFF, prompt_tokens=800, completion_tokens=80),  # ... then an edit outside the block
    ok(OUTSIDE_DIFF, prompt_tokens=850, completion_tokens=85),  # the repair repeats the mistake
    status(500),  # 4: a server error, retried ...
    empty(),  # ... then an empty answer
    delay(3.0, ok(SECOND_DIFF)),  # 5: times out (limit 1 s), retried ...
    ok(SECOND_DIFF, prompt_tokens=700, completion_tokens=70),  # ... and applied
    ok("I would rather not change anything.", prompt_tokens=600, completion_tokens=60),  # 6: no edit ...
    ok("Still nothing.", prompt_tokens=650, completion_tokens=65),  # ... twice
]
ANSWERED = [(1000, 100), (900, 90), (800, 80), (850, 85), (700, 70), (600, 60), (650, 65)]


@pytest.fixture(scope="module")
def scripted_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("llm-run")
    with FakeOpenAI(*SCRIPT) as server:
        code = main(
            [
                "run",
                "tardiness",
                "--config",
                write_config(folder / "run.toml"),
                "--model",
                MODEL,
                "--api-base",
                server.base_url,
                "--run-dir",
                str(folder / "run"),
            ]
        )
        assert code == 0
        assert server.pending == 0, "every scripted reply was asked for"
    return folder


def test_scripted_diffs_improve_the_seed_and_every_fault_is_recorded_with_its_reason(scripted_run):
    archive = Archive(sqlite_url(scripted_run / "run"))
    programs = archive.programs(1)
    seed = next(p for p in programs if p.mutator == "seed")
    written = [p for p in programs if p.mutator == "llm"]
    assert written and all(p.model == MODEL for p in written)
    assert min(p.metrics("train")["gap"] for p in written) < seed.metrics("train")["gap"]
    calls = archive.llm_calls(1)
    assert [c.status for c in calls] == [
        "applied",
        "edit_failed",
        "call_failed",
        "edit_failed",
        "edit_failed",
        "call_failed",
        "applied",
        "edit_failed",
        "edit_failed",
    ]
    assert "does not match" in calls[1].detail and calls[1].detail in calls[2].prompt
    assert calls[2].detail.startswith("malformed")
    assert calls[3].attempts == 2 and "outside" in calls[3].detail
    assert calls[5].detail.startswith("empty")
    # A failed call is stored with its attempts and the time they took (a 500, retried, then an empty answer).
    assert calls[5].attempts == 2 and calls[5].latency_seconds > 0
    assert calls[6].attempts == 2 and calls[6].program_id is not None
    assert calls[0].program_id == written[0].id and "+    look_ahead = 2.0" in calls[0].detail


def test_the_dollar_total_is_the_scripted_usage_times_the_configured_prices(scripted_run):
    archive = Archive(sqlite_url(scripted_run / "run"))
    expected = sum(p * PRICE_IN + c * PRICE_OUT for p, c in ANSWERED)
    assert archive.run(1).dollars == pytest.approx(expected)
    assert archive.run(1).tokens == sum(p + c for p, c in ANSWERED)


def test_a_replay_with_the_server_gone_rebuilds_the_same_archive(scripted_run, capsys):
    assert main(["run", "--replay", str(scripted_run / "run"), "--run-dir", str(scripted_run / "replay")]) == 0
    recorded = Archive(sqlite_url(scripted_run / "run")).run(1).dollars
    assert f"LLM spend $0.0000 (replayed replies recorded at ${recorded:.4f})" in capsys.readouterr().out
    original = Archive(sqlite_url(scripted_run / "run"))
    replayed = Archive(sqlite_url(scripted_run / "replay"))

    def summary(archive):
        return [
            (p.code_hash, p.parent_ids, p.mutator, {s: e.metrics for s, e in p.evaluations.items()})
            for p in archive.programs(1)
        ]

    assert summary(replayed) == summary(original)
    assert [c.status for c in replayed.llm_calls(1)] == [c.status for c in original.llm_calls(1)]
    assert all(c.cached for c in replayed.llm_calls(1) if c.response)
    assert replayed.run(1).dollars == pytest.approx(original.run(1).dollars)


def test_frontier_shows_the_spend_and_replay_refuses_another_problem(scripted_run, capsys):
    assert main(["frontier", str(scripted_run / "run")]) == 0
    assert "LLM spend $0.0" in capsys.readouterr().out
    assert main(["run", "other", "--replay", str(scripted_run / "run")]) == 2
    assert "is a run of tardiness, not other" in capsys.readouterr().err


def test_the_dollar_budget_stops_the_run_with_at_most_one_call_of_overshoot(tmp_path):
    costly = [ok("No edit this time.", prompt_tokens=1000, completion_tokens=0) for _ in range(10)]
    with FakeOpenAI(*costly) as server:
        config = write_config(tmp_path / "run.toml", iterations=50)
        assert (
            main(
                [
                    "run",
                    "tardiness",
                    "--config",
                    config,
                    "--model",
                    MODEL,
                    "--api-base",
                    server.base_url,
                    "--max-usd",
                    "0.0025",
                    "--run-dir",
                    str(tmp_path / "run"),
                ]
            )
            == 0
        )
    archive = Archive(sqlite_url(tmp_path / "run"))
    run = archive.run(1)
    assert run.status == "budget"
    assert 0.0025 <= run.dollars <= 0.0025 + 1000 * PRICE_IN
    assert len(archive.llm_calls(1)) == 3


def test_with_two_models_the_bandit_tries_both_and_the_summary_shows_them(tmp_path, capsys):
    replies = [ok("No edit this time.", prompt_tokens=100, completion_tokens=10) for _ in range(6)]
    with FakeOpenAI(*replies) as server:
        config = write_config(tmp_path / "run.toml", iterations=2)
        args = ["run", "tardiness", "--config", config, "--api-base", server.base_url, "--run-dir", str(tmp_path / "r")]
        assert main([*args, "--model", "openai/first", "--model", "openai/second"]) == 0
        out = capsys.readouterr().out
        # A resume rebuilds the bandit from the stored calls: its summary counts the first session's 4 calls too.
        assert main(["resume", str(tmp_path / "r"), "--iterations", "3"]) == 0
        resumed = capsys.readouterr().out.split("models (bandit", 1)[1]
        counts = [int(line.split()[1]) for line in resumed.splitlines()[3:5]]
        assert sum(counts) == 6, resumed
    assert "models (bandit on frontier improvement per dollar)" in out
    assert "of their time on proposals (model calls)" in out and "x overlap" in out
    first_session = [c for c in Archive(sqlite_url(tmp_path / "r")).llm_calls(1) if c.iteration <= 2]
    assert [c.model for c in first_session] == ["openai/first", "openai/first", "openai/second", "openai/second"]


BLOCK = (
    "def priority(pj, wj, dj, t, p_mean):\n"
    "    slack = max(dj - pj - t, 0)\n"
    "    return math.log(wj / pj) - slack / ({k} * p_mean)\n"
)


def test_a_pipelined_run_with_calls_in_flight_replays_to_the_same_archive(tmp_path):
    """Two iterations in flight, two calls at once: the server answers in whatever order the calls arrive, and
    the replay, with the server gone, still rebuilds the run exactly."""
    replies = [
        delay(0.05 * (i % 3), ok(f"Look-ahead {i}.\n```python\n{BLOCK.format(k=1 + i / 10)}```\n")) for i in range(8)
    ]
    config = write_config(
        tmp_path / "run.toml", iterations=4, batch_size=2, pipeline_depth=2, llm_concurrency=2, rewrite_share=1.0
    )
    with FakeOpenAI(*replies) as server:
        args = ["run", "tardiness", "--config", config, "--api-base", server.base_url, "--model", MODEL]
        assert main([*args, "--run-dir", str(tmp_path / "run")]) == 0
        assert server.pending == 0
    assert main(["run", "--replay", str(tmp_path / "run"), "--run-dir", str(tmp_path / "replay")]) == 0
    original, replayed = (Archive(sqlite_url(tmp_path / name)) for name in ("run", "replay"))

    def summary(archive):
        return [(p.iteration, p.code_hash, p.parent_ids, p.note) for p in archive.programs(1)]

    assert len(summary(original)) >= 6 and summary(replayed) == summary(original)
    assert [c.request_hash for c in replayed.llm_calls(1)] == [c.request_hash for c in original.llm_calls(1)]
