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
