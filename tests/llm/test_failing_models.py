"""Models that keep failing are dropped, and a run with no model left stops and says why (against a scripted
OpenAI-compatible server on 127.0.0.1 that answers by the model asked for)."""

from __future__ import annotations

from fake_openai import FakeOpenAI, ok, status
from llm_runs import write_config

from evolve.archive.store import Archive, sqlite_url
from evolve.cli.main import main


def by_model(body):
    model = body.get("model") if isinstance(body, dict) else None
    if model == "locked":
        return status(401)
    if model == "unknown":
        return status(404, {"error": {"message": "The model `unknown` does not exist", "type": "invalid_request"}})
    return ok("No edit this time.", prompt_tokens=100, completion_tokens=10)


def run(tmp_path, *models: str, **config) -> tuple[int, list[str]]:
    with FakeOpenAI(responder=by_model) as server:
        args = ["run", "tardiness", "--config", write_config(tmp_path / "run.toml", **config)]
        args += ["--api-base", server.base_url, "--run-dir", str(tmp_path / "r")]
        for model in models:
            args += ["--model", model]
        code = main(args)
        return code, [body["model"] for body in server.requests]


def test_a_model_failing_three_calls_in_a_row_is_dropped_and_the_others_go_on(tmp_path, capsys):
    code, asked = run(tmp_path, "openai/unknown@10", "openai/good@1", iterations=12, model_selection='"weights"')
    out = capsys.readouterr().out
    assert code == 0 and "run finished" in out
    assert asked.count("unknown") == 3  # each a 404, not retried
    last = max(i for i, model in enumerate(asked) if model == "unknown")
    assert set(asked[last + 1 :]) == {"good"} and len(asked) > last + 1
    assert "model openai/unknown dropped after 3 failed calls in a row; the last: bad_request:" in out
    assert "(models left: openai/good)" in out
    reason = "openai/unknown: 3 failed calls (bad_request), the latest: NotFoundError: Error code: 404"
    summary = out.split("failed model calls, by model and kind", 1)[1]
    assert reason in summary
    assert main(["watch", str(tmp_path / "r"), "--once"]) == 0
    assert reason in capsys.readouterr().out.split("failed model calls:", 1)[1]
    assert main(["report", str(tmp_path / "r")]) == 0
    page = (tmp_path / "r" / "report.html").read_text()
    failed = page.split("<h3>Failed calls</h3>", 1)[1].split("</table>", 1)[0]
    assert "openai/unknown" in failed and "bad_request" in failed and "does not exist" in failed


def test_a_refused_key_drops_its_model_at_once_and_with_none_left_the_run_fails(tmp_path, capsys):
    code, asked = run(tmp_path, "openai/locked", iterations=5)
    out = capsys.readouterr().out
    assert code == 1 and asked == ["locked"]
    assert "model openai/locked dropped after a refused key; the last: auth:" in out
    assert "run failed: every model was dropped (openai/locked: a refused key" in out
    assert Archive(sqlite_url(tmp_path / "r")).run(1).status == "failed"


def test_a_resume_remembers_which_models_were_dropped(tmp_path):
    config = write_config(tmp_path / "run.toml", iterations=8, model_selection='"weights"')
    with FakeOpenAI(responder=by_model) as server:
        args = ["run", "tardiness", "--config", config, "--api-base", server.base_url, "--run-dir", str(tmp_path / "r")]
        assert main([*args, "--model", "openai/unknown@10", "--model", "openai/good@1"]) == 0
        assert [body["model"] for body in server.requests].count("unknown") == 3
        first = len(server.requests)
        assert main(["resume", str(tmp_path / "r"), "--iterations", "12"]) == 0
        asked = [body["model"] for body in server.requests[first:]]
    assert asked and set(asked) == {"good"}
