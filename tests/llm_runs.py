"""The configuration of the `adrs run`s that the LLM tests make against a scripted server."""

from __future__ import annotations

MODEL = "openai/scripted"
PRICE_IN, PRICE_OUT = 1e-6, 2e-6


def write_config(path, **changes) -> str:
    settings = {
        "iterations": "6",
        "batch_size": "1",
        "pipeline_depth": "1",  # one call at a time, so the server's script is answered in order
        "workers": "1",
        "islands": "1",
        "mutators": "{ llm = 1.0 }",
        # The scripted diffs are written against the seed, which must then be every call's parent.
        "baselines_in_population": "false",
        "rewrite_share": "0.0",
        "llm_timeout_seconds": "1.0",
        "prices": f'{{ "{MODEL}" = [{PRICE_IN}, {PRICE_OUT}] }}',
        **{key: str(value) for key, value in changes.items()},
    }
    path.write_text("[run]\n" + "".join(f"{key} = {value}\n" for key, value in settings.items()))
    return str(path)
