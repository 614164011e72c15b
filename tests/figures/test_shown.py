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


def test_the_overall_test_is_the_models_own():
    model = {"stat": 2.18, "pval": 0.0332}
    assert shown.overall_test({"test": "z", "model": model})["name"] == "z"
    t = shown.overall_test({"test": "t", "model": {**model, "test": "t", "df": 55}})
    assert (t["name"], t["df"], t["robust"]) == ("t", 55, False)
    # a CR2 fit is a t test with Satterthwaite df whatever test the outcome set
    robust = shown.overall_test({"test": "z", "model": {**model, "test": "t", "df": 9.41, "robust": {}}})
    assert (robust["name"], robust["df"], robust["robust"]) == ("t", 9.41, True)
    assert shown.overall_test({"test": "z", "model": {}}) is None
