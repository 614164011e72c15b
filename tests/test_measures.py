"""The measure registry (metasr.measures): one list of measures, transforms that match metafor's,
and no second list anywhere else."""

from __future__ import annotations

import ast
import math
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from metasr import measures

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "src" / "metasr"
IDS = set(measures.ids())


# ---------------------------------------------------------------- no second list


def measure_lists(tree: ast.AST):
    """(line, column, ids) for each literal tuple, list, set or dict (keys) holding two or more
    measure ids, in source order."""
    for node in sorted(ast.walk(tree), key=lambda n: (getattr(n, "lineno", 0), getattr(n, "col_offset", 0))):
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            items = node.elts
        elif isinstance(node, ast.Dict):
            items = [k for k in node.keys if k is not None]
        else:
            continue
        found = [e.value for e in items if isinstance(e, ast.Constant) and e.value in IDS]
        if len(found) >= 2:
            yield node.lineno, node.col_offset, found


def test_no_module_but_the_registry_lists_measures():
    offenders = []
    for path in sorted([*PACKAGE.rglob("*.py"), *(REPO / "scripts").glob("*.py")]):
        if path == PACKAGE / "measures.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        offenders += [f"{path.relative_to(REPO)}:{line}: {ids}" for line, _, ids in measure_lists(tree)]
    assert offenders == [], "measure lists outside metasr.measures:\n" + "\n".join(offenders)


def test_the_scan_finds_a_list_of_measures():
    tree = ast.parse('RATIO = {"RR", "OR"}\nif m in ("SMD", "MD"):\n    pass\nX = {"PR": 1, "IR": 2}\nY = ("RR",)')
    assert [ids for *_, ids in measure_lists(tree)] == [["RR", "OR"], ["SMD", "MD"], ["PR", "IR"]]


def yaml_enums(node, path=()):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "enum":
                yield path, value
            else:
                yield from yaml_enums(value, path + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from yaml_enums(value, path + (i,))


def test_every_schema_enum_of_measures_is_the_registrys():
    for file, expected in measures.schema_enums().items():
        schema = yaml.safe_load((REPO / "schemas" / file).read_text(encoding="utf-8"))
        listed = {path: values for path, values in yaml_enums(schema)
                  if len(IDS & {v for v in values if isinstance(v, str)}) >= 2}
        assert set(listed) <= set(expected), f"{file}: enums of measures the registry does not decide"
        for path, values in expected.items():
            node = schema
            for key in path:
                node = node[key]
            assert node["enum"] == values, f"{file}: {'.'.join(path)}; run tools/write_measure_enums.py"
    for file in sorted((REPO / "schemas").glob("*.yaml")):
        if file.name not in measures.schema_enums():
            schema = yaml.safe_load(file.read_text(encoding="utf-8"))
            assert not [p for p, v in yaml_enums(schema) if len(IDS & {x for x in v if isinstance(x, str)}) >= 2]


def test_the_enum_writer_agrees_with_the_schemas():
    result = subprocess.run([sys.executable, str(REPO / "tools" / "write_measure_enums.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_parse_time_imports_no_numpy():
    code = ("import sys, metasr.measures, metasr.config, metasr.commands.pool; "
            "print(sorted(m for m in ('numpy', 'pandas', 'scipy', 'matplotlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# ---------------------------------------------------------------- records


def test_every_record_is_complete_and_consistent():
    for m in measures.MEASURES.values():
        assert m.family in measures.FAMILIES and m.transform in measures.TRANSFORMS and m.display in measures.DISPLAYS
        assert m.inputs and all(m.inputs), m.id
        assert set(m.table_methods) <= {"MH", "PETO"}
        assert (m.null is None) == (m.display in ("proportion", "rate", "mean")), m.id
        assert all(v in ("LS", "UB", "LS2", "AV", "HO", "AVHO", "ST", "CS") for v in m.vtypes)
        assert m.vtypes[:1] in ((), ("LS",)), f"{m.id}: metafor's default vtype is LS"
        assert m.display != "ratio" or m.transform == "exp", f"{m.id}: a ratio is a back-transformed log"
    assert measures.table_methods() == {"MH": ("RR", "OR", "RD", "IRR", "IRD"), "PETO": ("OR", "PETO")}
    assert measures.get("PFT").add == 0 and measures.get("PLO").add == 0.5


def test_ratio_means_exp_only_where_the_transform_says_so():
    ratio = {m for m in IDS if measures.display_for(m).ratio}
    assert ratio == {m.id for m in measures.MEASURES.values() if m.transform == "exp" and m.display == "ratio"}
    assert measures.log_scale("PLN") and not measures.display_for("PLN").ratio  # exp, but a proportion
    assert measures.display_for("GEN", "log").ratio and not measures.display_for("GEN").ratio


@pytest.mark.parametrize("name", sorted(measures.TRANSFORMS))
def test_each_transform_inverts_its_back_transformation(name):
    transform = measures.TRANSFORMS[name]
    args = [37.0] * len(transform.args)
    for value in (0.05, 0.3, 0.5, 0.9):
        x = transform.forward(value, *args)
        assert math.isclose(transform.back(x, *args), value, rel_tol=1e-12), (name, value)


def test_back_transformations_are_metafors():
    # metafor 3.8-1: transf.ipft(0.6, 20), transf.iirft(0.2, 150), transf.iarcsin(2), transf.ilogit(-1)
    assert math.isclose(measures.ipft(0.6, 20), 0.310010631597454, rel_tol=1e-12)
    assert measures.ipft(0.01, 20) == 0.0 and measures.ipft(1.6, 20) == 1.0
    assert math.isclose(measures.iirft(0.2, 150), 0.0367361111111111, rel_tol=1e-12)
    assert measures.TRANSFORMS["iarcsin"].back(2.0) == 1.0
    assert math.isclose(measures.TRANSFORMS["ilogit"].back(-1.0), 0.268941421369995, rel_tol=1e-12)
    assert math.isclose(measures.harmonic_mean([10, 20, 40]), 3 / (0.1 + 0.05 + 0.025))


def test_display_of_a_pooled_result_reads_its_transform():
    pooled = {"measure": "PFT", "transform": {"name": "ipft_hm", "args": {"ni": 25.0}}}
    disp = measures.display_of(pooled)
    assert disp.args == (("ni", 25.0),) and disp.percent and disp.null is None
    study = disp.for_study({"xi": 3, "mi": 7})
    assert study.args == (("ni", 10.0),)
    assert math.isclose(study.back(measures.pft(0.3, 10)), 0.3, rel_tol=1e-12)
    old = measures.display_of({"measure": "PFT", "studies": [{"ni": 10}, {"ni": 30}]})  # no transform recorded
    assert old.args == (("ni", 15.0),)


def test_option_problems_name_the_config_key():
    problems = measures.option_problems("ZCOR", vtype="AV", key="outcomes.r.escalc.")
    assert [p.key for p in problems] == ["outcomes.r.escalc.vtype"]
    assert measures.option_problems("PLO", add=0.1, to="all", vtype="AV") == []
    assert [p.key for p in measures.option_problems("PR", drop00=True)] == ["drop00"]


def test_value_name_says_what_a_shown_number_is():
    # ids name the scale of differences and ratios; back-transformed values are named by what they are
    assert [measures.display_for(m).value_name for m in ("SMD", "RR")] == ["SMD", "RR"]
    # a generic effect's id names nothing: "pooled effect 0.19", not "pooled GEN 0.19", whatever its scale
    assert measures.display_for("GEN").value_name == measures.display_for("GEN", "log").value_name == "effect"
    assert measures.display_for("ZCOR").value_name == "correlation"
    assert measures.display_for("PLO").value_name == "proportion (%)"
    assert measures.display_for("IRLN").value_name == "incidence rate"
    assert measures.display_for("MN").value_name == measures.display_for("MNLN").value_name == "mean"


def test_a_log_mean_is_shown_as_a_mean_not_a_ratio():
    mnln = measures.display_for("MNLN")
    assert mnln.kind == "mean" and not mnln.ratio and measures.log_scale("MNLN") and mnln.null is None
    assert math.isclose(mnln.back(math.log(7.5)), 7.5) and mnln.shown_bounds is None and not mnln.percent
    assert mnln.scale_text == "means, back-transformed from the log mean scale (exp)"
    assert measures.display_for("MN").scale_text == "means, analysed on the raw mean scale"
    assert not measures.get("MN").unit_free  # a mean is in the outcome's unit


def test_single_group_measures_come_from_their_family():
    assert {m for m in IDS if measures.single_group(m)} == \
        set(measures.in_family("single-group proportions", "single-group rates", "single-group means", "paired means",
                               "correlations", "partial correlations"))
    assert not measures.single_group("GEN") and not measures.single_group("no such measure")


def test_shown_bounds_are_those_of_the_number_shown():
    assert measures.display_for("PLO", None, {}).shown_bounds == (0.0, 100.0)  # a proportion in %
    assert measures.display_for("ZCOR", None, {}).shown_bounds == (-1.0, 1.0)  # r, not Fisher's z
    assert measures.display_for("SMD", None, {}).shown_bounds is None
    assert measures.display_for("IRLN", None, {}).shown_bounds is None  # a rate has no upper bound


def test_paired_means_compare_one_sample_with_itself():
    for m in measures.in_family("paired means"):
        record = measures.get(m)
        assert measures.single_group(m) and record.null == 0.0, m
        assert record.inputs[0][:3] == ("m1i", "m2i", "sd1i") and record.inputs[0][-2:] == ("ni", "ri"), m
    romc = measures.display_for("ROMC")
    assert romc.ratio and romc.null == 0.0 and math.isclose(romc.back(math.log(1.06)), 1.06)
    assert measures.display_for("SMCC").identity and not measures.display_for("MC").ratio
    assert not measures.get("MC").unit_free and measures.get("SMCR").unit_free and measures.get("ROMC").unit_free
    assert measures.get("SMCR").inputs[-1] == ("m1i", "m2i", "sd1i", "ni", "ri")  # SMCR standardises by sd1i alone
    assert {m for m in IDS if measures.get(m).raw_score} == {"SMCR", "SMCRH"}


def test_associations_and_partial_correlations_are_shown_as_analysed_and_named_by_what_they_are():
    for m in ("PHI", "YUQ", "YUY", "PCOR", "SPCOR"):
        disp = measures.display_for(m)
        assert disp.kind == "correlation" and disp.identity and disp.null == 0.0 and disp.shown_bounds == (-1.0, 1.0)
        assert disp.scale_text == measures.get(m).plural  # "phi coefficients", not "correlations (r)"
    assert [measures.display_for(m).value_name for m in ("PHI", "YUQ", "PCOR")] == \
        ["phi coefficient", "Yule's Q", "partial correlation"]  # Yule is a name
    assert not measures.single_group("PHI") and measures.single_group("PCOR")
    assert measures.get("PHI").add == measures.get("IRSD").add == 0 and measures.get("YUQ").add == 0.5
    assert measures.get("PHI").options == ("add", "to", "drop00", "vtype")
    assert measures.extraction_columns("SMD1")[:6] == list(measures.MEAN_INPUTS)  # the sheet's both SDs
    assert measures.get("SMD1").inputs == (("m1i", "n1i", "m2i", "sd2i", "n2i"),)  # SMD1 reads no sd1i
    assert measures.extraction_columns("PCOR") == ["ti", "ni", "mi", "r2i", "yi", "vi"]
    assert "r2i" not in measures.get("PCOR").inputs[0] and "r2i" in measures.get("SPCOR").inputs[0]
