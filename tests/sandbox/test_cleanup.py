"""Removing what a candidate leaves in its directory: any depth, any shape, never outside it, and a clear False
(so that the sandbox is replaced) whenever it cannot finish."""

from __future__ import annotations

import os
import socket
import time

from evaluators.cleanup import remove_tree


def deep(root, depth: int) -> None:
    here = os.open(root, os.O_RDONLY)
    for _ in range(depth):
        os.mkdir("d", dir_fd=here)
        below = os.open("d", os.O_RDONLY, dir_fd=here)
        os.close(here)
        here = below
    os.close(here)


def test_a_tree_deeper_than_the_stack_and_the_path_limit_is_removed(tmp_path):
    root = tmp_path / "candidate"
    root.mkdir()
    deep(root, 5000)  # 10,000 characters of path: longer than PATH_MAX, deeper than the recursion limit
    for k in range(500):
        (root / f"f{k}").write_text("x")
    assert remove_tree(str(root), time.monotonic() + 30)
    assert not root.exists()


def test_entries_of_every_kind_go_and_nothing_outside_is_touched(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep").write_text("kept")
    root = tmp_path / "candidate"
    (root / "locked" / "inner").mkdir(parents=True)
    (root / "locked" / "inner" / "file").write_text("x")
    os.symlink(outside, root / "link-to-outside")
    os.symlink(outside / "keep", root / "link-to-file")
    os.mkfifo(root / "fifo")
    socket.socket(socket.AF_UNIX).bind(str(root / "socket"))
    (root / ("n" * 255)).write_text("x")
    (root / "line\nbreak").write_text("x")
    os.chmod(root / "locked" / "inner", 0)
    os.chmod(root / "locked", 0)
    assert remove_tree(str(root), time.monotonic() + 30) == (os.geteuid() == 0)  # only root reads mode-0 folders
    if os.geteuid() == 0:
        assert not root.exists()
    assert (outside / "keep").read_text() == "kept"


def test_a_missing_tree_is_already_clean_and_a_deadline_that_passes_is_a_failure(tmp_path):
    assert remove_tree(str(tmp_path / "never-made"), time.monotonic() + 1)
    root = tmp_path / "candidate"
    root.mkdir()
    (root / "file").write_text("x")
    assert not remove_tree(str(root), time.monotonic() - 1)
