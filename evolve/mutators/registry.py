"""Builds the mutators a run configuration names."""

from __future__ import annotations

from evolve.archive import Archive, sqlite_url
from evolve.config import ConfigError, RunConfig
from evolve.ledger import ArchiveCache, LLMLedger
from evolve.mutator import Mutator
from problems.base import ProblemSpec

AVAILABLE = ("genetic", "llm", "tune")


def check_names(config: RunConfig) -> None:
    """ConfigError when the configuration names a mutator adrs does not have."""
    unknown = sorted(set(config.mutators) - set(AVAILABLE))
    if unknown:
        raise ConfigError(f"unknown mutator(s): {', '.join(unknown)}; available: {', '.join(AVAILABLE)}")


def build_mutators(config: RunConfig, spec: ProblemSpec, ledger: LLMLedger, archive: Archive) -> dict[str, Mutator]:
    """One mutator per name in ``config.mutators``; ConfigError for a name adrs does not have.

    Model replies are cached in ``archive`` (a resumed run reuses them); a replay answers only from the
    replayed run's archive and never touches the network.
    """
    check_names(config)
    mutators: dict[str, Mutator] = {}
    if "genetic" in config.mutators:
        from evolve.mutators.genetic import GeneticMutator

        mutators["genetic"] = GeneticMutator()
    if "tune" in config.mutators:
        from evolve.mutators.tune import TuneMutator

        mutators["tune"] = TuneMutator(trials=config.tune_trials, batch=config.pool_size)
    if "llm" in config.mutators:
        mutators["llm"] = _llm_mutator(config, spec, ledger, archive)
    return mutators


def _llm_mutator(config: RunConfig, spec: ProblemSpec, ledger: LLMLedger, archive: Archive) -> Mutator:
    import random
    from pathlib import Path

    from evolve.llm_client import LLMClient, Price
    from evolve.mutators.llm import LLMMutator, ModelChoice
    from evolve.prompt import PromptTemplates

    cache_archive = Archive(sqlite_url(Path(config.replay))) if config.replay else archive
    client = LLMClient(
        api_base=config.api_base or None,
        prices={model: Price(*price) for model, price in config.prices.items()},
        timeout_seconds=config.llm_timeout_seconds,
        cache=ArchiveCache(cache_archive),
        offline=bool(config.replay),
        rng=random.Random(config.seed),
    )
    return LLMMutator(
        client,
        [ModelChoice.parse(m) for m in config.models],
        spec,
        ledger.record,
        PromptTemplates.load(Path(config.prompts_dir) if config.prompts_dir else None),
        rewrite_share=config.rewrite_share,
        allows_call=ledger.allows_call,
    )
