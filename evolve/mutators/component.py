"""The component mutator: a building block the problem ships, spliced into the parent.

A problem may list components in ``problem.toml`` (``components = [...]``, files under ``seeds/``): programs whose
EVOLVE-BLOCK defines a function that the seed's block defines too, with the same name and parameters, such as
tardiness's ``improve(order, p, w, d)`` hook, which the seed leaves as the identity and the component
``interchange.py`` makes an adjacent-pairwise-interchange pass. The mutator replaces the parent's definition
by the component's (with the imports it needs) and proposes the child: it is how an offline run inserts the
improvement step a researcher would try after a dispatching rule, while the rule itself keeps evolving.
"""

from __future__ import annotations

import ast
from pathlib import Path

from evaluators import ast_guard
from evolve.code_blocks import blocks, dedented, reindented, replace_blocks
from evolve.mutator import Candidate, MutationContext
from evolve.mutators.blend import imports, shared_functions


class ComponentMutator:
    """Proposes the parent with one of the problem's components in place of its same-named function."""

    name = "component"

    def __init__(self, components: list[Path]):
        self.components = [(path.name, path.read_text()) for path in components]

    def propose(self, context: MutationContext) -> list[Candidate]:
        parent = context.parent
        choices = [(name, code, pair) for name, code in self.components for pair in shared_functions(parent.code, code)]
        context.rng.shuffle(choices)
        for name, code, (index, function) in choices:
            child = _spliced(parent.code, code, index, function)
            if child != parent.code:
                note = f"component: {function}() from {name}"
                return [Candidate(child, self.name, (parent.id,), note=note)]
        return []


def _definition(code: str, function: str) -> ast.FunctionDef:
    for block in blocks(code):
        tree = ast_guard.parse(dedented(block)[1])
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name == function:
                return node
    raise ValueError(f"no function {function} in the component")


def _spliced(parent_code: str, component_code: str, index: int, function: str) -> str:
    own_blocks = blocks(parent_code)
    tree = ast_guard.parse(dedented(own_blocks[index])[1])
    replacement = _definition(component_code, function)
    own = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == function)
    if ast.dump(own) == ast.dump(replacement):
        return parent_code  # the parent already has this component
    tree.body = [replacement if n is own else n for n in tree.body]
    needed = "".join(line + "\n" for line in imports(component_code) if line not in imports(parent_code))
    new_blocks = list(own_blocks)
    new_blocks[index] = reindented(needed + ast.unparse(tree), "")
    return replace_blocks(parent_code, new_blocks)
