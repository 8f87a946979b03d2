"""The blend mutator: the parent's scoring function mixed with an inspiration's, by a tuned weight.

What a researcher tries first with two dispatching rules: where the EVOLVE-BLOCKs of the parent and of an
inspiration both define a function of the same name and parameters (tardiness's ``priority(pj, wj, dj, t,
p_mean)``), the child keeps both and defines

    BLEND_1 = 0.2
    def priority(pj, wj, dj, t, p_mean):
        return (1 - BLEND_1) * _v1_priority(pj, wj, dj, t, p_mean) + BLEND_1 * _w1_priority(pj, wj, dj, t, p_mean)

``_v1_priority`` is the parent's function; the inspiration's block follows with each of its top-level names
prefixed ``_w1_``, so that nothing clashes. The weight is tried on a grid spread over two orders of magnitude
(two priorities' scales may differ that much) through the run's ``ScoreFn``; the best trial is proposed when it
beats the parent, and as a literal it is refined later by the tune mutator. A function that returns something
other than a number fails in the sandbox at the grid's middle weight, which is tried first, alone.
"""

from __future__ import annotations

import ast
import math
import re

from evaluators import ast_guard
from evolve.code_blocks import BlockError, blocks, dedented, reindented, replace_blocks
from evolve.mutator import Candidate, MutationContext

WEIGHTS = (0.02, 0.05, 0.1, 0.2, 0.35, 0.5, 0.65, 0.8, 0.9, 0.95, 0.98)


class BlendMutator:
    """Proposes one blend of the parent with an inspiration per call, or nothing when none beats the parent."""

    name = "blend"

    def __init__(self, weights: tuple[float, ...] = WEIGHTS):
        self.weights = weights

    def propose(self, context: MutationContext) -> list[Candidate]:
        parent = context.parent
        choices = [
            (other, pair) for other in context.inspirations for pair in shared_functions(parent.code, other.code)
        ]
        context.rng.shuffle(choices)
        own = None
        for other, (index, function) in choices:
            k = _free_number(parent.code)
            codes = [_blended(parent.code, other.code, index, function, k, weight) for weight in self.weights]
            # The middle weight first: a function whose values cannot be mixed (it returns a list, say) fails
            # there, and the next shared function is tried instead of the other weights.
            middle = len(codes) // 2
            if own is None:
                own, probe = context.score([parent.code, codes[middle]])
            else:
                [probe] = context.score([codes[middle]])
            if probe is None:
                continue
            rest = context.score(codes[:middle] + codes[middle + 1 :])
            scores = [*rest[:middle], probe, *rest[middle:]]
            best = min(range(len(codes)), key=lambda i: _finite(scores[i]))  # first of equals wins
            if not _finite(scores[best]) < _finite(own):
                return []
            change = f"score {own:.4g} -> {scores[best]:.4g}"
            note = f"blend: {function}() of #{parent.id} with {self.weights[best]:g} of #{other.id}'s ({change})"
            return [Candidate(codes[best], self.name, (parent.id, other.id), note=note)]
        return []


def _finite(score: float | None) -> float:
    return score if score is not None and math.isfinite(score) else math.inf


def _top_level_functions(block: str) -> dict[str, ast.FunctionDef] | None:
    """The plain functions (positional parameters only) defined at module level in a block; None when the block
    is indented (inside a function) or does not parse."""
    indent, text = dedented(block)
    if indent:
        return None
    try:
        tree = ast_guard.parse(text)
    except (SyntaxError, ValueError):
        return None
    return {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef) and _plain(node.args)}


def _plain(arguments: ast.arguments) -> bool:
    return not (
        arguments.posonlyargs
        or arguments.vararg
        or arguments.kwonlyargs
        or arguments.kwarg
        or arguments.defaults
        or not arguments.args
    )


def _parameters(function: ast.FunctionDef) -> list[str]:
    return [a.arg for a in function.args.args]


def shared_functions(parent_code: str, other_code: str) -> list[tuple[int, str]]:
    """(parent block index, function name) pairs that both programs define with the same parameters."""
    try:
        own_blocks, other_blocks = blocks(parent_code), blocks(other_code)
    except BlockError:
        return []
    theirs: dict[str, list[str]] = {}
    for block in other_blocks:
        for name, function in (_top_level_functions(block) or {}).items():
            theirs.setdefault(name, _parameters(function))
    pairs = []
    for index, block in enumerate(own_blocks):
        for name, function in (_top_level_functions(block) or {}).items():
            if theirs.get(name) == _parameters(function):
                pairs.append((index, name))
    return pairs


def _free_number(code: str) -> int:
    """The smallest k for which no name of the program starts with ``_v{k}_`` or ``_w{k}_`` or is ``BLEND_{k}``."""
    used = {int(k) for k in re.findall(r"\b(?:_[vw]|BLEND_)(\d+)", code)}
    return next(k for k in range(1, len(used) + 2) if k not in used)


class _Renamer(ast.NodeTransformer):
    """Renames the given module-level names wherever they are read, written or defined."""

    def __init__(self, names: dict[str, str]):
        self.names = names

    def visit_Name(self, node: ast.Name) -> ast.Name:
        node.id = self.names.get(node.id, node.id)
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.FunctionDef:
        node.name = self.names.get(node.name, node.name)
        self.generic_visit(node)
        return node

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.ClassDef:
        node.name = self.names.get(node.name, node.name)
        self.generic_visit(node)
        return node


def _defined_names(tree: ast.Module) -> set[str]:
    """Names a module-level statement of the block binds (functions, classes, assignments), imports excepted."""
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    return names


def imports(code: str) -> list[str]:
    """The module-level import statements of a program (the inspiration's block may rely on them)."""
    tree = ast_guard.parse(code)
    return [ast.unparse(node) for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]


def _blended(parent_code: str, other_code: str, index: int, function: str, k: int, weight: float) -> str:
    """The parent with block ``index`` holding both programs' ``function`` and their blend at ``weight``."""
    own_blocks = blocks(parent_code)
    own = ast_guard.parse(dedented(own_blocks[index])[1])
    _Renamer({function: f"_v{k}_{function}"}).visit(own)
    other_text = "".join(block for block in blocks(other_code) if _top_level_functions(block) is not None)
    other = ast_guard.parse(dedented(other_text)[1]) if other_text.strip() else ast.Module([], [])
    _Renamer({name: f"_w{k}_{name}" for name in _defined_names(other)}).visit(other)
    parameters = ", ".join(_parameters(next(f for f in own.body if getattr(f, "name", "") == f"_v{k}_{function}")))
    wrapper = (
        f"BLEND_{k} = {weight!r}\n\n\n"
        f"def {function}({parameters}):\n"
        f"    return (1 - BLEND_{k}) * _v{k}_{function}({parameters}) + BLEND_{k} * _w{k}_{function}({parameters})\n"
    )
    needed = "".join(line + "\n" for line in imports(other_code) if line not in imports(parent_code))
    text = f"{needed}{ast.unparse(own)}\n\n\n{ast.unparse(other)}\n\n\n{wrapper}"
    new_blocks = list(own_blocks)
    new_blocks[index] = reindented(text, "")
    return replace_blocks(parent_code, new_blocks)
