"""What the forest plot draws and its caption says (metasr.figures.shown)."""

from metasr.figures import shown


def test_a_prediction_interval_is_drawn_and_captioned_for_a_random_effects_model_only(bcg_pooled):
    assert bcg_pooled["method"] not in ("FE", "MH", "PETO") and bcg_pooled["model"]["pi_lb"] is not None
    assert shown.forest_draws_prediction(bcg_pooled)
    assert shown.forest_caption(bcg_pooled) == \
        "Studies, weights, pooled estimate (diamond) and 95% prediction interval."
    for method in ("FE", "MH", "PETO"):  # the forest caption promised an interval these fits do not draw
        common = {**bcg_pooled, "method": method}
        assert not shown.forest_draws_prediction(common)
        assert shown.forest_caption(common) == ("Studies, weights, pooled estimate (diamond) (a common-effect model: "
                                                "no prediction interval).")
    single = {**bcg_pooled, "status": "single_study"}
    assert not shown.forest_draws_prediction(single) and "not pooled" in shown.forest_caption(single)
