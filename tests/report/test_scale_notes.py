"""Caveats of the scale an outcome is shown on: raw-scale intervals beyond the quantity's range."""

from pathlib import Path

import pandas as pd

from metasr.report.scale_notes import scale_notes
from metasr.stats.analysis import pool_outcome

INPUTS = Path(__file__).resolve().parents[1] / "fixtures" / "measures" / "inputs"


def metadat(name: str, extra: list[dict] | None = None) -> pd.DataFrame:
    """A metadat data set (tests/fixtures/measures), with SYNTHETIC `extra` rows."""
    table = pd.concat([pd.read_csv(INPUTS / f"{name}.csv"), pd.DataFrame(extra or [])], ignore_index=True)
    return table.assign(study_id=[f"S{i + 1:02d}" for i in range(len(table))])


def test_raw_proportion_intervals_beyond_0_and_100_percent_are_said_to_be():
    # metafor: predict(rma(yi, vi, data = escalc("PR", xi, ni, data = dat.pritz1997), test = "knha")):
    # PI [0.5040, 1.0895]; the z-based CIs of 7 of the 14 studies reach past 1
    pooled = pool_outcome(metadat("pritz1997"), "PR", "REML", "knha", label="Occlusion")
    assert round(pooled["model"]["pi_ub"], 4) == 1.0895
    [note] = scale_notes(pooled)
    assert note.startswith("On the raw proportion scale the intervals are symmetric normal approximations, and the "
                           "95% prediction interval and the 95% CI of 7 studies (S01, S02, S05, S07, S08 and 2 more) "
                           "extend beyond the range a proportion can take (0 to 100 %).")
    assert note.endswith("not truncated; a transformed scale (measure PLO or PFT) keeps the intervals inside the "
                         "range.")
    # SYNTHETIC 1 of 1 and 0 of 20 beside them (DL): metafor's PI [-0.0589, 1.5140], shown as it is
    wide = pool_outcome(metadat("pritz1997", [{"xi": 1, "ni": 1}, {"xi": 0, "ni": 20}]), "PR", "DL")
    assert [round(wide["model"][k], 4) for k in ("pi_lb", "pi_ub")] == [-0.0589, 1.5140]
    assert "the 95% prediction interval and the 95% CI of 9 studies" in scale_notes(wide)[0]


def test_a_raw_correlation_beyond_1_is_said_to_be_and_only_there():
    # SYNTHETIC r = 0.95 of 5 beside dat.molloy2014: its CI is 0.95 +- 1.96 * (1 - 0.95^2) / 2 = [0.85, 1.05]
    pooled = pool_outcome(metadat("molloy2014", [{"ri": 0.95, "ni": 5}]), "COR", "REML")
    [note] = scale_notes(pooled)
    assert "the 95% CI of 1 study (S17) extends beyond the range a correlation can take (−1 to 1)" in note
    assert "(measure ZCOR)" in note
    # dat.molloy2014 alone stays inside -1 to 1 (metafor: study CIs -0.35 to 0.58, PI [-0.039, 0.344])
    assert scale_notes(pool_outcome(metadat("molloy2014"), "COR", "REML")) == []
    # on a transformed scale the back-transformed intervals stay inside: no note
    assert scale_notes(pool_outcome(metadat("pritz1997"), "PLO", "REML")) == []


def test_a_freeman_tukey_harmonic_mean_far_below_the_median_size_gets_schwarzers_caveat():
    # dat.pritz1997 with two SYNTHETIC studies of 1 patient: metafor's transf.ipft.hm takes the harmonic
    # mean of ni, 5.141, below half the median ni (12); predict() gives 0.8322 [0.7270, 0.9204]
    pooled = pool_outcome(metadat("pritz1997", [{"xi": 1, "ni": 1}, {"xi": 1, "ni": 1}]), "PFT", "REML")
    assert [round(pooled["transformed"][k], 4) for k in ("estimate", "ci_lb", "ci_ub")] == [0.8322, 0.7270, 0.9204]
    [note] = scale_notes(pooled)
    assert note == ("The back-transformation (transf.ipft.hm) uses the harmonic mean of the studies' ni, 5.141, less "
                    "than 50% of their median (12): a few very small studies decide it, and the back-transformed "
                    "pooled proportion and its CI can be seriously misleading (Schwarzer et al. 2019, Res Synth "
                    "Methods). The measure PLO has no such back-transformation.")
    # one such study and one of 20: 7.40, 57% of the median 13, is not below the rule's half
    assert scale_notes(pool_outcome(metadat("pritz1997", [{"xi": 1, "ni": 1}, {"xi": 0, "ni": 20}]), "PFT",
                                    "REML")) == []
    assert scale_notes(pool_outcome(metadat("pritz1997"), "PFT", "REML")) == []  # 12.59 of a median 13


def test_an_association_beyond_1_names_no_scale_its_data_cannot_give():
    # dat.bourassa1996: Yule's Q of small tables with strong associations (Lund 1932: 10, 2, 52, 170, Q =
    # 0.88) have CIs past 1, and so has the prediction interval; a 2x2 table gives no Fisher's z (ZCOR
    # takes r and n)
    pooled = pool_outcome(metadat("bourassa1996"), "YUQ", "REML")
    [note] = scale_notes(pooled)
    assert note.startswith("On the Yule's Q scale the intervals are symmetric normal approximations, and the 95% "
                           "prediction interval and the 95% CI of 13 studies (S06, S07, ")
    assert "beyond the range a Yule's Q can take (−1 to 1)" in note
    assert note.endswith("They are shown as computed, not truncated.") and "ZCOR" not in note
