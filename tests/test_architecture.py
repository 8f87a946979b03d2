"""The layers of docs/architecture.md hold in the code, and the document lists the layers the linter checks."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
CONTRACTS = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
PACKAGES = ("adrs", "evolve", "evaluators", "problems")


def test_every_import_contract_is_kept():
    linter = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(linter), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert f"Contracts: {len(CONTRACTS)} kept, 0 broken." in result.stdout


def test_the_packages_are_layered_one_way_and_the_problems_are_independent():
    by_type = {(c["type"], tuple(c.get("containers", ()))): c for c in CONTRACTS}
    assert by_type[("layers", ())]["layers"] == list(PACKAGES)
    shipped = sorted(p.parent.name for p in (ROOT / "problems").glob("*/problem.toml"))
    assert sorted(by_type[("independence", ())]["modules"]) == [f"problems.{name}" for name in shipped]
    assert sorted(by_type[("acyclic_siblings", ())]["ancestors"]) == sorted(PACKAGES)


def test_the_architecture_document_names_each_layer_in_order():
    document = (ROOT / "docs" / "architecture.md").read_text()
    for contract in CONTRACTS:
        if contract["type"] != "layers" or not contract.get("containers"):
            continue
        [container] = contract["containers"]
        names = [name.strip() for layer in contract["layers"] for name in layer.replace(":", "|").split("|")]
        row = next(line for line in document.splitlines() if line.startswith(f"| layers inside {container}:"))
        listed = row.split(":", 1)[1]
        positions = [re.search(rf"(?<!\w){name}(?!\w)", listed).start() for name in names]
        assert positions == sorted(positions), (container, names)


def test_no_module_of_ours_is_over_400_lines():
    long = {
        str(path.relative_to(ROOT)): lines
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if (lines := len(path.read_text().splitlines())) > 400
    }
    assert long == {}
