"""The syntax tree of one EVOLVE-BLOCK parsed on its own, with the scope facts the genetic operators need.

A block is often the body of a function whose ``def`` line lies outside it, so the parameters of that
enclosing function are taken from the whole program. Each name gets a *role* from how the block uses it:
``container`` (subscripted or iterated), ``index`` (used as a subscript) or ``scalar``; an edit only
exchanges things of the same role, because ``w[j]`` for ``p[j]`` usually runs and ``t[j]`` for it does not.
"""

from __future__ import annotations

import ast
import builtins

from evaluators import ast_guard
from evolve.code_blocks import dedented, source_lines

_BUILTINS = frozenset(dir(builtins))
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
_CONTAINER_READERS = frozenset({"len", "sum", "sorted", "enumerate", "zip", "reversed", "list", "tuple"})
_SWAPPABLE = (ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare, ast.Call, ast.Subscript, ast.Name)
_SWAPPABLE += (ast.Constant, ast.IfExp, ast.Attribute)
_ROLE_RANK = {"scalar": 0, "index": 1, "container": 2}

Slot = tuple[ast.AST, str, int | None]


class BlockTree:
    """One block's syntax tree, where each node sits, which function holds it and what names it can see.

    Attributes:
        module: the parsed block; operators edit it in place (one edit per tree).
        indent: the block's base indentation in the program.
        module_names: names bound at the program's top level (imports, functions, globals).
    """

    def __init__(
        self,
        module: ast.Module,
        indent: str,
        source: str,
        outer: ast.AST | None,
        module_names: frozenset[str],
    ):
        self.module = module
        self.indent = indent
        self.module_names = module_names
        self._lines = [line.rstrip("\r\n") for line in source_lines(source)]
        self._outer_name = getattr(outer, "name", None)
        self._slots: dict[int, Slot] = {}
        self._function: dict[int, int | None] = {}
        self._function_names: dict[int | None, str] = {}
        self._bindings: dict[int | None, dict[str, int]] = {None: dict.fromkeys(_parameters(outer), 0)}
        self._callees: set[str] = set()
        self._roles: dict[str, str] = {}
        self._index()

    @classmethod
    def parse(cls, block: str, outer: ast.AST | None, module_names: frozenset[str]) -> BlockTree | None:
        """The analysed tree of a block's text, or None when the block does not parse on its own."""
        indent, source = dedented(block)
        try:
            module = ast_guard.parse(source)
        except (SyntaxError, ValueError):
            return None
        return cls(module, indent, source, outer, module_names)

    def nodes(self) -> list[ast.AST]:
        """Every node of the tree, in a fixed (breadth-first) order."""
        return list(ast.walk(self.module))

    def put(self, node: ast.AST, replacement: ast.AST) -> None:
        """Puts ``replacement`` where ``node`` sits in the tree."""
        parent, field, position = self._slots[id(node)]
        if position is None:
            setattr(parent, field, replacement)
        else:
            getattr(parent, field)[position] = replacement

    def variables_in_scope(self, node: ast.AST) -> set[str]:
        """Parameters and locals of the node's function bound on an earlier line: candidates to read there.

        Names that are called somewhere in the block and builtins are left out: they are functions.
        """
        function = self._function.get(id(node))
        line = getattr(node, "lineno", 0)
        bound = self._bindings.get(function, {})
        return {name for name, at in bound.items() if at < line and name not in self._callees | _BUILTINS}

    def is_local(self, name: str) -> bool:
        """Whether the block (or the function around it) binds ``name`` itself, shadowing any global."""
        return any(name in bound for bound in self._bindings.values())

    def role(self, name: str) -> str | None:
        """How the block uses a name (``container``, ``index`` or ``scalar``); None when it never does."""
        return self._roles.get(name)

    def role_at(self, node: ast.AST) -> str | None:
        """The role the node's position demands (``container`` or ``index``), or None when it demands none."""
        parent, field, _ = self._slots.get(id(node), (None, "", None))
        if isinstance(parent, ast.Subscript):
            return "container" if field == "value" else "index"
        if isinstance(parent, ast.Slice):
            return "index"
        if isinstance(parent, (ast.For, ast.comprehension)) and field == "iter":
            return "container"
        if isinstance(parent, ast.Call) and field == "args" and isinstance(parent.func, ast.Name):
            return "container" if parent.func.id in _CONTAINER_READERS else None
        return None

    def kind(self, node: ast.AST) -> str:
        """What an expression is for crossover: its position's role, else its name's role, else scalar."""
        if isinstance(node, ast.Name):
            return self.role_at(node) or self.role(node.id) or "scalar"
        return self.role_at(node) or "scalar"

    def is_swappable(self, node: ast.AST) -> bool:
        """Whether crossover may replace this expression, or take it: a value read in a body, not a callee."""
        if not isinstance(node, _SWAPPABLE) or id(node) not in self._slots:
            return False
        if isinstance(getattr(node, "ctx", ast.Load()), (ast.Store, ast.Del)):
            return False
        if isinstance(node, ast.Constant) and type(node.value) not in (int, float):
            return False
        parent, field, _ = self._slots[id(node)]
        if isinstance(parent, (ast.arguments, ast.arg, ast.JoinedStr, ast.FormattedValue, ast.Expr)):
            return False
        if isinstance(parent, ast.Attribute) or field in ("func", "decorator_list", "returns", "annotation"):
            return False
        return True

    def where(self, node: ast.AST) -> str:
        """``function: line '...'`` naming where a node sits, for a mutation's note."""
        function = self._function.get(id(node))
        name = self._function_names.get(function, self._outer_name or "module")
        line = getattr(node, "lineno", 0)
        text = self._lines[line - 1].strip() if 0 < line <= len(self._lines) else "?"
        return f"{name}: line {text[:80]!r}"

    def _index(self) -> None:
        """Records every node's slot and function, each function's bindings, callees and name roles."""
        stack: list[tuple[ast.AST, int | None, bool]] = [(self.module, None, False)]
        names: list[ast.Name] = []
        while stack:
            node, function, in_comprehension = stack.pop()
            self._function[id(node)] = function
            if isinstance(node, ast.Name):
                names.append(node)
                if isinstance(node.ctx, ast.Store) and not in_comprehension:
                    bound = self._bindings.setdefault(function, {})
                    bound[node.id] = min(bound.get(node.id, node.lineno), node.lineno)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                self._callees.add(node.func.id)
            inner = function
            if isinstance(node, _FUNCTIONS):
                inner = id(node)
                self._function_names[inner] = getattr(node, "name", "<lambda>")
                self._bindings[inner] = dict.fromkeys(_parameters(node), 0)
            inside = in_comprehension or isinstance(node, _COMPREHENSIONS)
            for field, value in ast.iter_fields(node):
                children = value if isinstance(value, list) else [value]
                for position, child in enumerate(children):
                    if isinstance(child, ast.AST):
                        self._slots[id(child)] = (node, field, position if isinstance(value, list) else None)
                        stack.append((child, inner, inside))
        # A name used both ways takes its most demanding role: a subscripted name is a container everywhere.
        for name in names:
            role, current = self.role_at(name) or "scalar", self._roles.get(name.id)
            if current is None or _ROLE_RANK[role] > _ROLE_RANK[current]:
                self._roles[name.id] = role


def enclosing_function(program: ast.Module, first: int) -> ast.AST | None:
    """The innermost function whose body runs through the block whose contents start at line ``first``.

    ``first`` is the 0-based index of the block's first content line, so its START marker sits just above.
    """
    marker = first  # the marker's 1-based line number equals the 0-based index of the first content line
    around = [
        node
        for node in ast.walk(program)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.lineno < marker < (node.end_lineno or 0)
    ]
    return max(around, key=lambda node: node.lineno, default=None)


def module_names(program: ast.Module) -> frozenset[str]:
    """Names bound at the program's top level: imports, functions, classes and global variables."""
    names: set[str] = set()
    stack: list[ast.AST] = list(program.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update(alias.asname or alias.name.split(".")[0] for alias in node.names)
        elif not isinstance(node, (ast.Lambda, *_COMPREHENSIONS)):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            stack.extend(ast.iter_child_nodes(node))
    return frozenset(names)


def _parameters(function: ast.AST | None) -> list[str]:
    """The parameter names of a function or lambda; none for no function."""
    if function is None:
        return []
    arguments: ast.arguments = function.args
    every = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
    every += [extra for extra in (arguments.vararg, arguments.kwarg) if extra is not None]
    return [argument.arg for argument in every]
