"""The genetic mutator: one small syntax-tree edit inside one EVOLVE-BLOCK, or crossover with a second parent.

The chosen block is parsed on its own, edited, regenerated with ``ast.unparse`` (so comments inside that
block are lost) and spliced back at its indentation; the other blocks and all text outside them are kept.
Variables are only replaced by names that are in scope and play the same role (container, index or
scalar), so most children still run.
"""

from __future__ import annotations

import ast
import builtins
import copy
import random
from dataclasses import dataclass

from evaluators import ast_guard
from evolve.code_blocks import (
    BlockError,
    block_spans,
    blocks,
    check_intact,
    normalized_hash,
    reindented,
    replace_blocks,
)
from evolve.mutator import Candidate, MutationContext
from evolve.mutators.block_tree import BlockTree, enclosing_function, module_names
from evolve.mutators.tune import GUARD_BELOW

_ARITHMETIC_SWAPS: dict[type, tuple[type, ...]] = {
    ast.Add: (ast.Sub,),
    ast.Sub: (ast.Add,),
    ast.Mult: (ast.Div,),
    ast.Div: (ast.Mult,),
    ast.FloorDiv: (ast.Div, ast.Mod),
    ast.Mod: (ast.FloorDiv,),
}
_SYMBOLS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Mod: "%"}
_COMPARISON_FLIPS = {ast.Lt: ast.Gt, ast.Gt: ast.Lt, ast.LtE: ast.GtE, ast.GtE: ast.LtE}
_COMPARISON_SYMBOLS = {ast.Lt: "<", ast.Gt: ">", ast.LtE: "<=", ast.GtE: ">="}
_EXTREMUM_SWAPS = {"max": "min", "min": "max"}
_SCALE_FACTORS = (0.5, 0.8, 1.25, 2.0)
_BUILTINS = frozenset(dir(builtins))
_OPERATORS = ("arithmetic", "comparison", "variable", "crossover", "constant")
# Expressions that bind names or suspend the frame cannot be moved into another place safely.
_SCOPED_OR_SUSPENDING = (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.NamedExpr)
_SCOPED_OR_SUSPENDING += (ast.Await, ast.Yield, ast.YieldFrom, ast.Starred)


@dataclass(frozen=True)
class OperatorWeights:
    """Relative chances of the operators; a weight of 0 switches one off.

    Attributes:
        arithmetic: swap an arithmetic operator (+ and -, * and /, // with / or %).
        comparison: flip a comparison (< and >, <= and >=) or swap a max call with min.
        variable: replace a variable by another in scope with the same role.
        crossover: replace an expression by one from the same block of an inspiration program.
        constant: scale a numeric literal by 0.5, 0.8, 1.25 or 2, or now and then negate it.
    """

    arithmetic: float = 1.0
    comparison: float = 1.0
    variable: float = 1.0
    crossover: float = 1.0
    constant: float = 1.0


class GeneticMutator:
    """Proposes one child per call by a random AST operator; offline and cheap, so it can run every step."""

    name = "genetic"

    def __init__(self, weights: OperatorWeights | None = None, attempts: int = 20, negate_chance: float = 0.1):
        """
        Args:
            weights: relative chances of the operators (all equal by default).
            attempts: how many random edits to try before giving up, since an edit may find nothing to
                change or produce a program equal to the parent.
            negate_chance: chance that the constant operator flips a literal's sign instead of scaling it.
        """
        self.weights = weights or OperatorWeights()
        if min(self._weights()) < 0 or sum(self._weights()) <= 0:
            raise ValueError(f"operator weights must be non-negative with a positive sum: {self.weights}")
        self.attempts = attempts
        self.negate_chance = negate_chance

    def propose(self, context: MutationContext) -> list[Candidate]:
        """One child of ``context.parent`` that parses and differs from it, or [] when no edit worked."""
        parent, rng = context.parent, context.rng
        try:
            texts = blocks(parent.code)
            program = ast_guard.parse(parent.code)
        except (BlockError, SyntaxError, ValueError):
            return []
        outers = [enclosing_function(program, first) for first, _ in block_spans(parent.code)]
        known = module_names(program)
        editable = [i for i, text in enumerate(texts) if BlockTree.parse(text, outers[i], known) is not None]
        if not editable:
            return []
        parent_hash = normalized_hash(parent.code)
        for _ in range(self.attempts):
            operator = rng.choices(_OPERATORS, self._weights())[0]
            index = rng.choice(editable)
            tree = BlockTree.parse(texts[index], outers[index], known)
            outcome = self._edit(operator, tree, index, context) if tree is not None else None
            if outcome is None:
                continue
            new_texts = list(texts)
            new_texts[index] = reindented(ast.unparse(tree.module), tree.indent)
            child = replace_blocks(parent.code, new_texts)
            if _is_new_valid_child(parent.code, parent_hash, child):
                note, other_parents = outcome
                return [Candidate(child, self.name, (parent.id, *other_parents), note=note)]
        return []

    def _weights(self) -> list[float]:
        """The operators' weights, in the order of ``_OPERATORS``."""
        return [getattr(self.weights, operator) for operator in _OPERATORS]

    def _edit(
        self, operator: str, tree: BlockTree, index: int, context: MutationContext
    ) -> tuple[str, tuple[int, ...]] | None:
        """Applies one operator to block ``index``'s tree in place: (note, other parents' ids), or None."""
        if operator == "crossover":
            return _crossover(tree, index, context)
        if operator == "constant":
            note = _scale_constant(tree, context.rng, self.negate_chance)
        else:
            edit = {
                "arithmetic": _swap_arithmetic,
                "comparison": _flip_comparison,
                "variable": _replace_variable,
            }
            note = edit[operator](tree, context.rng)
        return None if note is None else (note, ())


def _is_new_valid_child(parent_code: str, parent_hash: str, child: str) -> bool:
    """Whether the child parses, keeps the text outside its blocks, and is a different program."""
    try:
        ast_guard.parse(child)
    except (SyntaxError, ValueError):
        return False
    return check_intact(parent_code, child) is None and normalized_hash(child) != parent_hash


def _swap_arithmetic(tree: BlockTree, rng: random.Random) -> str | None:
    """Swaps one arithmetic operator in place; the note, or None when the block has none."""
    sites = [n for n in tree.nodes() if isinstance(n, (ast.BinOp, ast.AugAssign)) and type(n.op) in _SYMBOLS]
    if not sites:
        return None
    node = rng.choice(sites)
    old = type(node.op)
    new = rng.choice(_ARITHMETIC_SWAPS[old])
    node.op = new()
    return f"swap {_SYMBOLS[old]} -> {_SYMBOLS[new]} in {tree.where(node)}"


def _flip_comparison(tree: BlockTree, rng: random.Random) -> str | None:
    """Flips one comparison or swaps one max/min call in place; the note, or None when there is none."""
    sites: list[tuple[ast.AST, int]] = []
    for node in tree.nodes():
        if isinstance(node, ast.Compare):
            sites += [(node, i) for i, op in enumerate(node.ops) if type(op) in _COMPARISON_FLIPS]
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in _EXTREMUM_SWAPS
            and not tree.is_local(node.func.id)
        ):
            sites.append((node, -1))
    if not sites:
        return None
    node, position = rng.choice(sites)
    if isinstance(node, ast.Call):
        old_name = node.func.id
        node.func = ast.Name(_EXTREMUM_SWAPS[old_name], ast.Load())
        return f"swap {old_name} -> {_EXTREMUM_SWAPS[old_name]} in {tree.where(node)}"
    old = type(node.ops[position])
    new = _COMPARISON_FLIPS[old]
    node.ops[position] = new()
    return f"flip {_COMPARISON_SYMBOLS[old]} -> {_COMPARISON_SYMBOLS[new]} in {tree.where(node)}"


def _replace_variable(tree: BlockTree, rng: random.Random) -> str | None:
    """Replaces one variable read by another in-scope name of the same role; the note, or None."""
    sites: list[tuple[ast.Name, list[str]]] = []
    for node in tree.nodes():
        if not isinstance(node, ast.Name) or not tree.is_swappable(node):
            continue
        scope = tree.variables_in_scope(node)
        if node.id in scope:
            role = tree.role(node.id)
            choices = sorted(name for name in scope if name != node.id and tree.role(name) == role)
            if choices:
                sites.append((node, choices))
    if not sites:
        return None
    node, choices = rng.choice(sites)
    old, node.id = node.id, rng.choice(choices)
    return f"replace {old} -> {node.id} in {tree.where(node)}"


def _scale_constant(tree: BlockTree, rng: random.Random, negate_chance: float) -> str | None:
    """Scales or negates one literal in place (not an index or a guard like 1e-9); the note, or None."""
    sites = [
        node
        for node in tree.nodes()
        if isinstance(node, ast.Constant)
        and type(node.value) in (int, float)
        and node.value != 0
        and not (isinstance(node.value, float) and abs(node.value) < GUARD_BELOW)
        and tree.role_at(node) != "index"
    ]
    if not sites:
        return None
    node = rng.choice(sites)
    old = node.value
    if rng.random() < negate_chance:
        new = -old
    else:
        scaled = old * rng.choice(_SCALE_FACTORS)
        new = int(round(scaled)) if isinstance(old, int) else float(f"{scaled:.6g}")
    if new == old:
        return None
    # A negative literal is written as a unary minus so ``ast.unparse`` keeps precedence (``(-2.0) ** x``).
    replacement = ast.Constant(new) if new >= 0 else ast.UnaryOp(ast.USub(), ast.Constant(-new))
    where = tree.where(node)
    tree.put(node, replacement)
    return f"{'negate' if new == -old else 'scale'} {old!r} -> {new!r} in {where}"


def _crossover(tree: BlockTree, index: int, context: MutationContext) -> tuple[str, tuple[int, ...]] | None:
    """Replaces one expression by a compatible one from an inspiration's same block; (note, (donor id,))."""
    parent = context.parent
    donors = []
    for program in context.inspirations:
        if program.id == parent.id:
            continue
        donor = _donor_tree(program.code, index)
        if donor is not None:
            donors.append((program, donor))
    if not donors:
        return None
    program, donor = context.rng.choice(donors)
    offers = [
        (node, donor.kind(node), _free_names(node), ast.dump(node))
        for node in donor.nodes()
        if donor.is_swappable(node) and _is_self_contained(node)
    ]
    targets = [node for node in tree.nodes() if tree.is_swappable(node)]
    context.rng.shuffle(targets)
    for target in targets:
        visible = tree.variables_in_scope(target) | tree.module_names | _BUILTINS
        kind, dumped = tree.kind(target), ast.dump(target)
        fitting = [o for o in offers if o[1] == kind and o[2] <= visible and o[3] != dumped]
        if fitting:
            chosen = context.rng.choice(fitting)[0]
            note = f"crossover from #{program.id}: {ast.unparse(target)} -> {ast.unparse(chosen)}"
            note += f" in {tree.where(target)}"
            tree.put(target, copy.deepcopy(chosen))
            return note, (program.id,)
    return None


def _donor_tree(code: str, index: int) -> BlockTree | None:
    """The analysed block ``index`` of an inspiration program, or None when it has no such parseable block."""
    try:
        texts = blocks(code)
        program = ast_guard.parse(code)
        spans = block_spans(code)
    except (BlockError, SyntaxError, ValueError):
        return None
    if index >= len(texts):
        return None
    return BlockTree.parse(texts[index], enclosing_function(program, spans[index][0]), module_names(program))


def _free_names(node: ast.AST) -> frozenset[str]:
    """Every name an expression reads."""
    return frozenset(n.id for n in ast.walk(node) if isinstance(n, ast.Name))


def _is_self_contained(node: ast.AST) -> bool:
    """Whether an expression binds no names of its own and does not suspend, so it can move anywhere."""
    return not any(isinstance(n, _SCOPED_OR_SUSPENDING) for n in ast.walk(node))
