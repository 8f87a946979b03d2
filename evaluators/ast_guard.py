"""One lock for every ``ast.parse`` in the framework's process.

CPython 3.11's C conversion between parse trees and ``ast`` objects is not thread-safe: parsing in several
threads at once can fail with "SystemError: AST constructor recursion depth mismatch" (CPython issue 106905).
The loop's slots run in threads, so every parse in the framework goes through ``parse`` below, and so do the
parses of libraries running in those threads (litellm calls ``ast.literal_eval``, which calls ``ast.parse``):
importing this module puts the lock into ``ast.parse`` itself. Parsing is CPU-bound and holds the GIL anyway, so
the lock costs no parallelism.
"""

from __future__ import annotations

import ast
import threading
from typing import Any

AST_LOCK = threading.RLock()
_unlocked_parse = getattr(ast.parse, "unlocked", ast.parse)


def parse(source: str, *args: Any, **kwargs: Any) -> Any:
    """``ast.parse`` under the lock."""
    with AST_LOCK:
        return _unlocked_parse(source, *args, **kwargs)


parse.unlocked = _unlocked_parse  # type: ignore[attr-defined]  # a reload must not wrap the wrapper
ast.parse = parse
