"""Builds the mutators a run configuration names."""

from __future__ import annotations

from evolve.archive.store import Archive
from evolve.config import ConfigError, RunConfig
from evolve.llm.ledger import ArchiveCache, LLMLedger
from evolve.mutator import Mutator
from problems.base import ProblemSpec, seeds_dir

AVAILABLE = ("blend", "component", "genetic", "llm", "tune")


def check_names(config: RunConfig) -> None:
    """ConfigError when the configuration names a mutator adrs does not have, or one it cannot build."""
    unknown = sorted(set(config.mutators) - set(AVAILABLE))
    if unknown:
        raise ConfigError(f"unknown mutator(s): {', '.join(unknown)}; available: {', '.join(AVAILABLE)}")
    if "llm" in config.mutators and not config.models:
        raise ConfigError("the llm mutator needs at least one model, e.g. --model openai/gpt-4o-mini")


def build_mutators(config: RunConfig, spec: ProblemSpec, ledger: LLMLedger, replies: Archive) -> dict[str, Mutator]:
    """One mutator per name in ``config.mutators``; ConfigError for a name adrs does not have.

    Model replies are looked up in the archive ``replies`` first: the run's own (a resumed run reuses its
    replies) or, in a replay, the replayed run's, and then nothing else is asked of the network.
    """
    check_names(config)
    mutators: dict[str, Mutator] = {}
    if "genetic" in config.mutators:
        from evolve.mutators.genetic import GeneticMutator

        mutators["genetic"] = GeneticMutator()
    if "blend" in config.mutators:
        from evolve.mutators.blend import BlendMutator

        mutators["blend"] = BlendMutator()
    if "component" in config.mutators:
        from evolve.mutators.component import ComponentMutator

        mutators["component"] = ComponentMutator([(spec.seeds_root or seeds_dir()) / c for c in spec.components])
    if "tune" in config.mutators:
        from evolve.mutators.tune import TuneMutator

        mutators["tune"] = TuneMutator(trials=config.tune_trials, batch=config.pool_size)
    if "llm" in config.mutators:
        mutators["llm"] = _llm_mutator(config, spec, ledger, replies)
    return mutators


def _llm_mutator(config: RunConfig, spec: ProblemSpec, ledger: LLMLedger, replies: Archive) -> Mutator:
    import random
    from pathlib import Path

    from evolve.llm.client import LLMClient, Price
    from evolve.llm.prompt import PromptTemplates
    from evolve.mutators.llm import LLMMutator, ModelChoice

    client = LLMClient(
        api_base=config.api_base or None,
        prices={model: Price(*price) for model, price in config.prices.items()},
        timeout_seconds=config.llm_timeout_seconds,
        cache=ArchiveCache(replies),
        offline=bool(config.replay),
        rng=random.Random(config.seed),
        transport=config.llm_transport,
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
