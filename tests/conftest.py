"""Shared test set-up: references are cached in a folder of the test session, never in the user's home."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True, scope="session")
def _reference_cache_in_a_temporary_folder(tmp_path_factory):
    previous = os.environ.get("ADRS_CACHE_DIR")
    os.environ["ADRS_CACHE_DIR"] = str(tmp_path_factory.mktemp("adrs-cache"))
    yield
    if previous is None:
        os.environ.pop("ADRS_CACHE_DIR", None)
    else:
        os.environ["ADRS_CACHE_DIR"] = previous


@pytest.fixture(scope="session")
def postgres_server():
    """A PostgreSQL server of the test session (tests/postgres.py); skips where none can be started."""
    from postgres import ServerUnavailable, start

    try:
        server = start()
    except ServerUnavailable as exc:
        pytest.skip(f"no PostgreSQL server for this test: {exc}")
    yield server
    server.stop()


@pytest.fixture
def postgres_url(postgres_server) -> str:
    """The URL of a new, empty database on the session's server, so ids start at 1 in every test."""
    return postgres_server.database()


@pytest.fixture(scope="module")
def processes_before_the_attacks() -> set[int]:
    """What already ran below the test process before a hostile suite's attacks (the PostgreSQL server of the
    session, say), so that a survivor check counts only what the attacks started. Request it before the attack
    run."""
    from processes import descendants_of

    return set(descendants_of(os.getpid()))
