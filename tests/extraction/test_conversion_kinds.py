"""The registry of conversion kinds: what extraction writes is what the forest and the methods read
(SYNTHETIC rows)."""

import string

import pytest

from metasr.extraction import conversion_kinds as kinds
from metasr.extraction.converting import convert_rows
from metasr.extraction.effects import ConversionSettings

# A value for each template field, as extraction fills it in.
FIELD_VALUES = {"quantile": "t", "group": 2, "parts": 3}


def written(kind: kinds.Kind) -> list[str]:
    """Every text a kind can write (one per template)."""
    out = []
    for name, template in kind.texts.items():
        used = {f for _, f, _, _ in string.Formatter().parse(template) if f}
        out.append(kind.text(name or None, **{f: FIELD_VALUES[f] for f in used}))
    return out


ALL_WRITTEN = [(kind, text) for kind in kinds.KINDS for text in written(kind)]


def test_kind_ids_are_unique_and_every_mark_has_its_footnote():
    assert len({k.id for k in kinds.KINDS}) == len(kinds.KINDS)
    assert {k.mark for k in kinds.KINDS} == set(kinds.MARKS)
    assert all(m.footnote for m in kinds.MARKS) and all(k.sentence for k in kinds.KINDS)


@pytest.mark.parametrize("kind, text", ALL_WRITTEN, ids=[t for _, t in ALL_WRITTEN])
def test_each_text_written_is_recognised_as_its_own_kind_only(kind, text):
    for part in kinds.parts(text):
        assert kinds.kind_of(part) is kind
        assert [k.id for k in kinds.KINDS if k.recognises(part)] == [kind.id]


def test_a_field_value_its_readers_would_not_recognise_cannot_be_written():
    assert kinds.SD_FROM_CI.text(quantile="z") == "SD from 95% CI using z (Handbook 6.5.2.2)"
    with pytest.raises(ValueError, match="does not match its own template"):
        kinds.SD_FROM_CI.text(quantile="t(24)")
    with pytest.raises(ValueError, match="name one of the templates"):
        kinds.MEDIAN.text()


def test_the_parts_of_a_cell_leave_out_none_and_blanks():
    assert kinds.parts("none") == [] and kinds.parts(float("nan")) == [] and kinds.parts(None) == []
    assert kinds.parts("none (as reported); flipped") == ["flipped"]  # a note of a table given to `metasr pool`
    assert kinds.parts("Luo 2018 (S1) mean; Wan 2014 (S1) SD; flipped") == ["Luo 2018 (S1) mean",
                                                                            "Wan 2014 (S1) SD", "flipped"]
    assert kinds.added("none", "flipped") == "flipped" and kinds.added("", "flipped") == "flipped"
    assert kinds.added("t = difference / SE", "flipped") == "t = difference / SE; flipped"
    assert kinds.has("SD from SE (Handbook 6.5.2.2); flipped", kinds.FLIPPED)
    assert not kinds.has("flipped by hand", kinds.FLIPPED)


def test_a_p_bound_used_as_if_exact_is_read_back_from_its_detail():
    detail = kinds.p_bound_detail("<0.001")
    assert detail == "p bound <0.001 used as if exact (conservative; extraction.p_value_bounds = as_exact)"
    assert kinds.used_p_bound(f"{detail}; two-sided p <0.001, df 40 -> |t| 3.5510")
    assert not kinds.used_p_bound("two-sided p 0.017, df 73 -> |t| 2.4424") and not kinds.used_p_bound(None)


# ---- round trip: what extraction writes, read by the forest and the methods ----------------------

def groups(form, **cells):
    return {"study_id": "S", "reported_form": form, **cells}


MEANS = dict(n1=20, mean1=5.0, sd1=2.0, n2=22, mean2=4.0, sd2=1.5)
SMD, GEN, RR = ConversionSettings("SMD"), ConversionSettings("GEN"), ConversionSettings("RR")
# SYNTHETIC rows that make extraction write each kind (with the outcome's settings).
EXTRACTED = [
    ([groups("median_range", n1=30, median1=5.0, min1=1.0, max1=9.0, n2=30, median2=4.0, min2=1.0, max2=8.0)], SMD),
    ([groups("median_iqr", n1=30, median1=5.0, q1_1=4.0, q3_1=7.0, n2=30, median2=4.0, q1_2=3.0, q3_2=5.0)], SMD),
    ([groups("median_iqr_range", n1=30, median1=5.0, q1_1=4.0, q3_1=6.0, min1=1.0, max1=9.0, n2=30, median2=4.0,
             q1_2=3.0, q3_2=5.0, min2=1.0, max2=8.0)], SMD),
    ([groups("median_range", n1=30, median1=5.0, min1=1.0, max1=9.0, n2=30, median2=4.0, min2=1.0, max2=8.0)],
     ConversionSettings("SMD", median_conversion="hozo")),
    ([groups("median_iqr", n1=30, median1=5.0, q1_1=4.0, q3_1=7.0, n2=30, median2=4.0, q1_2=3.0, q3_2=5.0)],
     ConversionSettings("SMD", median_conversion="hozo")),
    ([groups("mean_se", n1=25, mean1=5.0, se1=0.4, n2=16, mean2=4.0, se2=0.5)], SMD),
    ([groups("mean_ci", n1=25, mean1=5.0, ci_lb1=4.0, ci_ub1=6.0, n2=100, mean2=4.0, ci_lb2=3.0, ci_ub2=5.0)], SMD),
    ([groups("mean_sd", **MEANS)], GEN),
    ([groups("effect_ci", effect=2.0, effect_measure="RR", effect_ci_lb=1.2, effect_ci_ub=3.3)], RR),
    ([groups("effect_ci", effect=2.0, effect_measure="MD", effect_ci_lb=0.2, effect_ci_ub=3.8, n1=10, n2=10)],
     ConversionSettings("MD")),
    ([groups("effect_ci", effect=2.0, effect_measure="MD", effect_ci_lb=0.2, effect_ci_ub=3.8)],
     ConversionSettings("MD")),
    ([groups("effect_p", effect=2.0, effect_measure="MD", p_value="0.03", n1=10, n2=10)], ConversionSettings("MD")),
    ([groups("effect_p", effect=2.0, effect_measure="RR", p_value="0.03")], RR),
    ([groups("effect_p", effect=2.0, effect_measure="MD", p_value="0.03")], ConversionSettings("MD")),
    ([groups("t_stat", n1=10, n2=10, t_stat=2.5)], SMD),
    ([groups("p_value", n1=10, n2=10, p_value="0.03", direction="group1_higher")], SMD),
    ([groups("effect_se", effect=3.8, effect_measure="MD", effect_se=1.369, n1=25, n2=22)], SMD),
    ([groups("mean_sd", subgroup=s, **MEANS) for s in ("men", "women")], SMD),
    ([{"study_id": "S", "subgroup": s, "reported_form": "events_total", "events": e, "n": 10} for s, e in
      (("men", 4), ("women", 6))], ConversionSettings("PR")),
    ([groups("mean_sd", **MEANS)], ConversionSettings("SMD", flip=True)),
    ([{"study_id": "S", "reported_form": "paired_mean_sd", "n": 15, "mean1": 3.66, "sd1": 0.6, "mean2": 3.45,
       "sd2": 0.61}], ConversionSettings("SMCC", assumed_correlation=0.5)),
    ([groups("mean_sd", comparison=c, shared_group=2, **MEANS) for c in ("A vs C", "B vs C")], SMD),
]


def extracted_parts() -> list[str]:
    conversions = [result.conversion for rows, settings in EXTRACTED for _, result in convert_rows(rows, settings)
                   if result.usable]
    return [part for conversion in conversions for part in kinds.parts(conversion)]


def test_every_kind_extraction_writes_is_recognised_and_every_kind_is_written():
    found = [kinds.kind_of(part) for part in extracted_parts()]
    assert None not in found
    assert {k.id for k in found if k} == {k.id for k in kinds.KINDS}


@pytest.mark.parametrize("kind, text", ALL_WRITTEN, ids=[t for _, t in ALL_WRITTEN])
def test_the_forest_and_the_methods_read_each_kind_back(kind, text):
    from metasr.figures.forest import study_footnotes
    from metasr.figures.forest_rows import conversion_kinds
    from metasr.report.methods import conversion_counts

    assert conversion_kinds({"conversion": text}) == {kind.mark.id}
    assert kind.mark.footnote[1:] in " ".join(study_footnotes([{"conversion": text}]))
    assert list(conversion_counts({"x": [{"usable": "true", "conversion": text}]})) == [kind.sentence]


def test_an_unknown_conversion_gets_the_generic_mark_and_is_named_as_written():
    from metasr.figures.forest import study_footnotes
    from metasr.figures.forest_rows import conversion_kinds
    from metasr.report.methods import conversion_counts

    unknown = {"conversion": "estimated from a figure; flipped"}
    assert conversion_kinds(unknown) == {"derived", "flipped"}
    assert " ".join(study_footnotes([unknown])).startswith("† Effect or its standard error derived from the reported "
                                                           "form")
    found = conversion_counts({"x": [{"usable": "true", **unknown}]})
    assert list(found) == ["other conversion: estimated from a figure", kinds.FLIPPED.sentence]
