"""Builds the messages an LLM mutator sends, from templates a researcher can edit.

The templates are plain text files with ``$name`` placeholders (``string.Template``): ``system.txt``,
``user.txt``, ``diff_format.txt``, ``rewrite_format.txt`` and ``repair.txt``. The defaults live beside this
module in ``prompts/``; a run may point at another folder holding any subset of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import Literal

from evolve import code_blocks
from evolve.mutator import MutationContext, ProgramView
from problems.base import Objective, ProblemSpec

DEFAULT_FOLDER = Path(__file__).resolve().parent / "prompts"
_NAMES = ("system", "user", "diff_format", "rewrite_format", "repair")
Message = tuple[str, str]  # (role, content)
Mode = Literal["diff", "rewrite"]


@dataclass(frozen=True)
class PromptTemplates:
    """The five templates of a prompt.

    Attributes:
        system: the role, the problem and the rules.
        user: the parent, its results, the inspirations and the task.
        diff_format: how to answer with SEARCH/REPLACE edits.
        rewrite_format: how to answer with whole EVOLVE-BLOCKs.
        repair: the follow-up message when an answer could not be applied.
    """

    system: str
    user: str
    diff_format: str
    rewrite_format: str
    repair: str

    @classmethod
    def load(cls, folder: Path | None = None) -> PromptTemplates:
        """Templates from ``folder``, each missing file taken from the defaults."""
        texts = {}
        for name in _NAMES:
            custom = Path(folder) / f"{name}.txt" if folder is not None else None
            path = custom if custom is not None and custom.is_file() else DEFAULT_FOLDER / f"{name}.txt"
            texts[name] = path.read_text()
        return cls(**texts)


def build_messages(
    templates: PromptTemplates, spec: ProblemSpec, context: MutationContext, mode: Mode = "diff", max_groups: int = 8
) -> tuple[Message, ...]:
    """The system and user messages asking for a child of ``context.parent``."""
    objectives = spec.objectives
    system = Template(templates.system).safe_substitute(
        problem_description=spec.description,
        objectives="; ".join(_describe_objective(o) for o in objectives),
        entry_point=spec.entry_point,
        seconds_per_instance=f"{spec.seconds_per_instance:g}",
    )
    parent = context.parent
    output_format = templates.diff_format if mode == "diff" else templates.rewrite_format
    output_format = Template(output_format).safe_substitute(block_count=len(_blocks_or_empty(parent.code)))
    user = Template(templates.user).safe_substitute(
        parent_id=parent.id,
        parent_code=parent.code.rstrip(),
        parent_metrics=format_metrics(parent.metrics, objectives) or "(it failed on the training instances)",
        parent_groups=format_groups(parent.groups, objectives, max_groups) or "(not available)",
        parent_feedback=parent.feedback.strip() or "(none)",
        inspirations=format_inspirations(context.inspirations, objectives) or "(none yet)",
        primary_objective=_describe_objective(objectives[0]),
        output_format=output_format.strip(),
    )
    return (("system", system.strip()), ("user", user.strip()))


def repair_message(templates: PromptTemplates, error: str) -> Message:
    """The follow-up user message after an answer that could not be applied."""
    return ("user", Template(templates.repair).safe_substitute(error=error).strip())


def format_metrics(metrics: dict[str, float], objectives: Sequence[Objective]) -> str:
    return ", ".join(f"{o.name} = {metrics[o.name]:.4g} {o.unit}".rstrip() for o in objectives if o.name in metrics)


def format_groups(groups: dict[str, dict[str, float]], objectives: Sequence[Objective], limit: int) -> str:
    """One line per instance class, the worst on the primary objective first, at most ``limit``."""
    primary = objectives[0]
    ranked = sorted(
        (g for g in groups.items() if primary.name in g[1]),
        key=lambda item: primary.oriented(item[1][primary.name]),
        reverse=True,
    )
    lines = [f"- {name}: {format_metrics(values, objectives)}" for name, values in ranked[:limit]]
    if len(ranked) > limit:
        lines.append(f"- ... and {len(ranked) - limit} more classes")
    return "\n".join(lines)


def format_inspirations(programs: Sequence[ProgramView], objectives: Sequence[Objective]) -> str:
    """Each program's metrics and its EVOLVE-BLOCK code (the rest is the same driver)."""
    parts = []
    for program in programs:
        blocks = "\n".join(_blocks_or_empty(program.code)) or program.code
        metrics = format_metrics(program.metrics, objectives) or "failed"
        parts.append(f"## Program {program.id}: {metrics}\n```python\n{blocks.rstrip()}\n```")
    return "\n\n".join(parts)


def _describe_objective(objective: Objective) -> str:
    unit = f" in {objective.unit}" if objective.unit else ""
    wanted = "lower" if objective.direction == "min" else "higher"
    detail = f": {objective.description}" if objective.description else ""
    return f"{objective.name}{unit} ({wanted} is better){detail}"


def _blocks_or_empty(code: str) -> list[str]:
    try:
        return code_blocks.blocks(code)
    except code_blocks.BlockError:
        return []
