"""Library checksums per workflow script: a code change reruns the steps that run that code only."""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import metasr
from metasr.workflow.fingerprint import code_files, imports_of, script_fingerprint

PACKAGE = Path(metasr.__file__).resolve().parent
SCRIPTS = PACKAGE / "resources" / "workflow" / "scripts"


def copy_package(tmp_path: Path) -> Path:
    return Path(shutil.copytree(PACKAGE, tmp_path / "metasr", ignore=shutil.ignore_patterns("__pycache__")))


def relative(files, package):
    return {path.relative_to(package).as_posix() for path in files}


def append(path: Path, text="\n# a change\n"):
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


def test_imports_inside_functions_and_from_imports_count():
    source = ("import os\nfrom metasr import io\ndef f():\n    from metasr.stats.tau2 import x\n"
              "    import metasr.a.b as c, metasr.d\nfrom metasr.e import (\n    f,  # why\n    g as h,\n)\n"
              "from metasr.i import j as k, l  # comment\n"
              "from metasr.m import (  # noqa (a comment with parentheses)\n    n,\n)\n")
    assert imports_of(source) == {"metasr", "metasr.io", "metasr.stats.tau2", "metasr.stats.tau2.x", "metasr.a.b",
                                  "metasr.d", "metasr.e", "metasr.e.f", "metasr.e.g", "metasr.i", "metasr.i.j",
                                  "metasr.i.l", "metasr.m", "metasr.m.n"}


def _imports_by_syntax_tree(source: str) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in names if name == "metasr" or name.startswith("metasr.")}


def test_the_import_scan_finds_what_the_syntax_tree_holds_in_every_module_and_script():
    sources = sorted(PACKAGE.rglob("*.py"))
    assert len(sources) > 100
    for path in sources:
        text = path.read_text(encoding="utf-8")
        assert imports_of(text) >= _imports_by_syntax_tree(text), path


def test_a_script_reaches_what_it_imports_and_nothing_else():
    pooling = relative(code_files(SCRIPTS / "analyse_outcomes.py"), PACKAGE)
    ingest = relative(code_files(SCRIPTS / "ingest_records.py"), PACKAGE)
    assert "stats/tau2.py" in pooling and "stats/tau2.py" not in ingest
    assert any(name.startswith("records/") for name in ingest)
    # The package __init__ of every imported module runs first, so it counts.
    assert "__init__.py" in pooling and "stats/__init__.py" in pooling
    assert not any(name.startswith(("resources/workflow", "resources/starter")) for name in pooling | ingest)


def test_fingerprint_is_stable_and_scoped(tmp_path):
    package = copy_package(tmp_path)
    scripts = package / "resources" / "workflow" / "scripts"
    pooling, ingest = scripts / "analyse_outcomes.py", scripts / "ingest_records.py"
    pooling_before = script_fingerprint(pooling, package)
    ingest_before = script_fingerprint(ingest, package)
    assert pooling_before == script_fingerprint(pooling, package) != ingest_before

    tau2 = package / "stats" / "tau2.py"
    tau2.write_bytes(tau2.read_bytes())  # touched, not changed
    assert script_fingerprint(pooling, package) == pooling_before

    append(tau2)
    assert script_fingerprint(pooling, package) != pooling_before
    assert script_fingerprint(ingest, package) == ingest_before



def test_a_scripts_own_content_counts_and_its_time_does_not(tmp_path):
    # the profiles leave out Snakemake's `code` trigger (a script's time): the param stands for it
    package = copy_package(tmp_path)
    script = package / "resources" / "workflow" / "scripts" / "plot_rob.py"
    before = script_fingerprint(script, package)
    script.write_bytes(script.read_bytes())
    assert script_fingerprint(script, package) == before
    append(script)
    assert script_fingerprint(script, package) != before

def test_shared_modules_count_for_every_script_that_reaches_them(tmp_path):
    package = copy_package(tmp_path)
    scripts = sorted((package / "resources" / "workflow" / "scripts").glob("*.py"))
    before = {script.name: script_fingerprint(script, package) for script in scripts}
    append(package / "errors.py")
    changed = {script.name for script in scripts if script_fingerprint(script, package) != before[script.name]}
    assert changed == {script.name for script in scripts if package / "errors.py" in code_files(script, package)}
    assert "analyse_outcomes.py" in changed and "write_report.py" in changed


def test_templates_count_for_the_report(tmp_path):
    package = copy_package(tmp_path)
    report = package / "resources" / "workflow" / "scripts" / "write_report.py"
    before = script_fingerprint(report, package)
    append(next((package / "report").rglob("*.j2")), "\n")
    assert script_fingerprint(report, package) != before


def test_a_library_module_counts_itself(tmp_path):
    package = copy_package(tmp_path)
    precheck = package / "workflow" / "precheck.py"
    before = script_fingerprint(precheck, package)
    append(precheck)
    assert script_fingerprint(precheck, package) != before


def test_every_rule_that_runs_a_script_passes_that_scripts_checksum():
    import re

    rules = PACKAGE / "resources" / "workflow" / "rules"
    for smk in rules.glob("*.smk"):
        for block in re.split(r"\n\s*rule\b", smk.read_text(encoding="utf-8"))[1:]:
            script = re.search(r'script:\s*"\.\./scripts/(\w+)\.py"', block)
            if script:
                assert f'code=code("{script.group(1)}")' in block, (smk.name, block[:80])


def test_code_named_as_module_and_function_counts():
    """metasr.outputs names each figure's drawing function as "module:function" and imports it when
    run: a change to the funnel plot's module reran no outcome job."""
    assert imports_of('FIGURE = Output("funnel", "metasr.figures.funnel:funnel_figure")\n') == {"metasr.figures.funnel"}
    outcome_job = relative(code_files(SCRIPTS / "analyse_outcomes.py"), PACKAGE)
    assert {"figures/funnel.py", "figures/forest.py", "figures/bubble.py", "figures/sensitivity.py"} <= outcome_job
