"""The methods paragraph follows the config and the pooled results."""

from metasr.report.methods import methods_paragraph


def test_methods_name_estimators_conversions_and_software(review_config, normand_pooled):
    text = methods_paragraph(review_config, [normand_pooled, {"method": "DL", "test": "knha"}],
                             {"Python": "3.11.7", "metasr": "0.1.0"})
    assert "restricted maximum likelihood" in text and "DerSimonian-Laird" in text
    assert "Knapp-Hartung" in text
    assert "Luo et al. (2018)" in text and "excluded" in text
    assert "IRL-positive with IRL-negative" in text and "metasr 0.1.0" in text
