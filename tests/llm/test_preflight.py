"""Before iteration 1, each model is checked: its key, its name, its server, its price under a dollar budget.
A failure is one line and exit status 2, and leaves no run behind."""

from __future__ import annotations

import pytest
from fake_openai import FakeOpenAI

from evolve.cli.main import main
from evolve.llm.preflight import problems


def refused(tmp_path, capsys, *args: str) -> str:
    code = main(["run", "tardiness", "--iterations", "2", "--run-dir", str(tmp_path / "r"), *args])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 2, err  # the line and its hint
    assert not (tmp_path / "r").exists()
    return err


def closed_port_url() -> str:
    with FakeOpenAI() as gone:
        return gone.base_url


def test_a_missing_key_is_named(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    err = refused(tmp_path, capsys, "--model", "openai/gpt-4o-mini")
    assert "openai/gpt-4o-mini needs OPENAI_API_KEY in the environment" in err


def test_a_model_litellm_does_not_know_is_refused_unless_priced(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-never-sent")
    err = refused(tmp_path, capsys, "--model", "openai/gtp-4o-mini")
    assert "litellm knows no model 'openai/gtp-4o-mini'" in err and "--price openai/gtp-4o-mini=IN,OUT" in err
    assert problems(["openai/gtp-4o-mini"], None, {"openai/gtp-4o-mini": [1e-6, 2e-6]}, 0.0) == []
    assert problems(["openai/gpt-4o-mini"], None, {}, 5.0) == []  # known, and priced by litellm


def test_an_unreachable_server_is_refused_whatever_the_transport(tmp_path, capsys):
    url = closed_port_url()
    err = refused(tmp_path, capsys, "--model", "openai/qwen", "--api-base", url)
    assert f"cannot reach {url} for openai/qwen" in err and "is --api-base right?" in err
    [line] = problems(["ollama/qwen2.5-coder"], url, {}, 0.0)
    assert line.startswith(f"cannot reach {url} for ollama/qwen2.5-coder")


def test_a_model_the_server_does_not_list_is_refused_with_what_it_serves(tmp_path, capsys):
    with FakeOpenAI(models=["qwen-coder", "llama"]) as server:
        err = refused(tmp_path, capsys, "--model", "openai/qwen", "--api-base", server.base_url)
        assert "serves no model 'qwen' (it serves llama, qwen-coder)" in err
        assert problems(["openai/qwen-coder"], server.base_url, {}, 0.0) == []
        assert server.requests == []  # no completion was asked for


@pytest.mark.parametrize("listed", [None, ["local"]])
def test_a_dollar_budget_needs_a_price_for_every_model(tmp_path, capsys, listed):
    with FakeOpenAI(models=listed) as server:
        err = refused(tmp_path, capsys, "--model", "openai/local", "--api-base", server.base_url, "--max-usd", "1")
        assert "--max-usd would count openai/local at $0" in err and "--price openai/local=IN,OUT" in err
        assert problems(["openai/local"], server.base_url, {"openai/local": [0.0, 0.0]}, 1.0) == []


def test_a_malformed_price_is_one_line(tmp_path, capsys):
    err = refused(tmp_path, capsys, "--model", "openai/local", "--price", "openai/local=0.1")
    assert "--price openai/local=0.1: expected MODEL=IN,OUT" in err
