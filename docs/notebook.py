# %% [markdown]
# # Reading a run from Python
#
# A notebook-style script (cells marked `# %%`, as Jupyter, VS Code and jupytext read them) that walks
# through `adrs`, the Python API: start a run (or open one), look at its frontier and its programs as a table,
# follow the best program's lineage, write the HTML report, export the program, and score a file on the problem
# with no evolution at all.
#
# Run it on any run directory, or on a fresh 8-iteration run it makes first:
#
#     python docs/notebook.py [RUN_DIR]

# %%
import contextlib
import io
import sys
import tempfile
from pathlib import Path

import adrs

if len(sys.argv) > 1:
    run = adrs.open_run(Path(sys.argv[1]))
else:  # the options of `adrs run`, as keywords; its progress lines are kept out of this page
    with contextlib.redirect_stdout(io.StringIO()):
        run = adrs.run("tardiness", iterations=8, run_dir=Path(tempfile.mkdtemp()) / "run")
record = run.record
print(
    f"run {record.id} of {record.problem}: {record.status}, {record.iteration} iterations, "
    f"{len(run.programs())} programs, {record.evaluations} evaluations, ${record.dollars:.4f}"
)

# %% [markdown]
# ## The frontier
# Programs no other program beats on every objective on train. Their test scores are held out: the run
# scored them on the test split at its end, and never selected on them.

# %%
names = [o.name for o in run.objectives]
for program in run.frontier():
    train, test = program.metrics("train"), program.metrics("test") or {}
    shown = ", ".join(f"{n} {train[n]:.4g} (test {test.get(n, float('nan')):.4g})" for n in names)
    print(f"program {program.id:>4} by {program.mutator:<8} {shown}")

# %% [markdown]
# ## Every program as a table
# `rows()` gives one flat dict per program (ids, lineage, mutator, status, `SPLIT.METRIC` columns), which
# `pandas.DataFrame(run.rows())` takes as it is; pandas is not needed for the rest of this page.

# %%
rows = run.rows()
print(f"{len(rows)} rows; columns: {', '.join(rows[0])}")
try:
    import pandas

    print(pandas.DataFrame(rows).groupby("mutator")[f"train.{names[0]}"].min().sort_values().to_string())
except ImportError:
    print("(pandas is not installed: the rows are plain dicts)")

# %% [markdown]
# ## How the best program came to be
# `best` picks on train, by the primary objective unless told otherwise; `lineage` follows main parents.

# %%
best = run.best()
seed = run.lineage(best.id)[-1]
primary = run.objectives[0].name
print(
    f"best on train: program {best.id}, {primary} {best.metrics('train')[primary]:.4g} "
    f"(the seed: {seed.metrics('train')[primary]:.4g})"
)
for step in reversed(run.lineage(best.id)):
    print(f"  {step.id:>4} {step.mutator:<8} {step.metrics('train')[primary]:8.4g}  {step.note[:70]}")

# Per instance class, on test: where the gain comes from.
evaluation = best.evaluations.get("test")
if evaluation is not None and evaluation.ok:
    worst = sorted(evaluation.groups.items(), key=lambda item: -item[1][primary])[:3]
    print("hardest test classes:", ", ".join(f"{group} {values[primary]:.3g}" for group, values in worst))

# %% [markdown]
# ## The report, and the program as a module
# The report is one HTML file that needs no network; the export is the archived code with a header.

# %%
report = run.report(run.directory / "report.html")
print(f"report: {report} ({report.stat().st_size / 1e6:.1f} MB)")
module = run.directory / f"program_{best.id}.py"
run.export(best.id, module)
print(f"exported: {module}")

# %% [markdown]
# ## Scoring a file, as `adrs eval` does
# The exported module scores on train exactly as the archived program did (time objectives aside: they
# are measured on this machine, now).

# %%
result = adrs.evaluate_file(record.problem, module, split="train")
print(
    f"{module.name} on train: {result.status}, {primary} {result.metrics[primary]:.6g} "
    f"(archived: {best.metrics('train')[primary]:.6g})"
)
run.close()
