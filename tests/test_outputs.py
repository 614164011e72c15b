"""The figure registry: every figure kind is one record, and nothing else lists them."""

from __future__ import annotations

import ast
from dataclasses import replace
from pathlib import Path

from metasr import outputs
from metasr.resources import WORKFLOW

SRC = Path(outputs.__file__).resolve().parent


def test_every_record_names_a_drawing_function_and_a_caption_file():
    for figure in outputs.OUTCOME_FIGURES:
        assert callable(outputs.function(figure.draw)), figure.kind
        assert (WORKFLOW / "report" / figure.rst).is_file() and figure.category, figure.kind
        if figure.planned:
            assert callable(outputs.function(figure.planned))
    for figure in outputs.REVIEW_FIGURES:
        assert (WORKFLOW / "report" / figure.rst).is_file() and figure.path.endswith(".svg")


def figure_lists(tree: ast.AST) -> list[tuple[int, list[str]]]:
    kinds = set(outputs.OUTCOME_FIGURE) | set(outputs.REVIEW_FIGURE)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            names = [e.value for e in node.elts if isinstance(e, ast.Constant) and e.value in kinds]
            if len(names) >= 2:
                found.append((node.lineno, names))
    return found


def test_no_module_but_the_registry_lists_figure_kinds():
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        if path.name == "outputs.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        offenders += [f"{path.relative_to(SRC)}:{line}: {names}" for line, names in figure_lists(tree)]
    assert offenders == [], "figure kinds listed outside metasr.outputs:\n" + "\n".join(offenders)


def test_a_new_record_reaches_the_outputs_the_job_and_the_report(monkeypatch, tmp_path):
    """What adding a per-outcome figure takes: a record (here a copy of the funnel plot's), its
    drawing function, its caption file; the workflow's outputs and the report follow."""
    from metasr.report import html
    from metasr.workflow import outcomes

    extra = replace(outputs.OUTCOME_FIGURE["funnel"], kind="funnel_copy", heading="Funnel (copy)")
    monkeypatch.setattr(outputs, "OUTCOME_FIGURES", outputs.OUTCOME_FIGURES + (extra,))
    monkeypatch.setattr(outputs, "OUTCOME_FIGURE", {**outputs.OUTCOME_FIGURE, "funnel_copy": extra})
    planned = outcomes.outcome_outputs("x", {"label": "X", "measure": "SMD"}, 5, png=False)
    assert planned["funnel_copy"] == "results/figures/x_funnel_copy.svg"
    candidates = dict(html.figure_candidates([{"outcome": "x"}], {"x_funnel_copy": "f.svg"}, None))
    assert candidates["x_funnel_copy"] == "f.svg"


def test_outcome_ids_whose_rules_or_files_are_the_workflow_s_own_are_reserved():
    """SYNTHETIC: an outcome `summary` made Snakemake's AmbiguousRuleException (its forest plot is
    the summary forest plot's path); `outcome_001` beside `outcome_001__inputs`, a CreateRuleException."""
    assert "summary_forest.svg" in outputs.outcome_id_clash("summary")
    assert "__inputs" in outputs.outcome_id_clash("outcome_001__inputs")
    assert outputs.outcome_id_clash("summary_pain") is None and outputs.outcome_id_clash("pain__inputs_6mo") is None
    for review_figure in outputs.REVIEW_FIGURES:  # every review-wide figure that an outcome's could be is reserved
        for figure in outputs.OUTCOME_FIGURES:
            stem = review_figure.path.removeprefix("results/figures/").removesuffix(f"_{figure.kind}.svg")
            if figure.path(stem) == review_figure.path:
                assert outputs.outcome_id_clash(stem)
