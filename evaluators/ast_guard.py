"""One lock for every ``ast.parse`` of the framework.

CPython 3.11's C conversion between parse trees and ``ast`` objects is not thread-safe: parsing in several
threads at once can fail with "SystemError: AST constructor recursion depth mismatch" (CPython issue 106905).
The loop's slots run in threads, so every parse in the framework goes through ``parse`` below. Parsing is
CPU-bound and holds the GIL anyway, so the lock costs no parallelism.
"""

from __future__ import annotations

import ast
import threading

AST_LOCK = threading.RLock()


def parse(source: str) -> ast.Module:
    """``ast.parse`` under the lock."""
    with AST_LOCK:
        return ast.parse(source)
