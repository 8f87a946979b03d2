"""Mutators that need no model: AST genetic edits and Optuna tuning of numeric literals."""

from evolve.mutators.genetic import GeneticMutator, OperatorWeights
from evolve.mutators.tune import TuneMutator

__all__ = ["GeneticMutator", "OperatorWeights", "TuneMutator"]
