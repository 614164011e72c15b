"""Build the default review's extraction sheets from the shared IRL evidence table (run by hand).

Reads ../shared/irl-review/{studies,outcomes}.csv (relative to the repository root) and writes
data/extraction/studies.csv, data/extraction/outcomes/{outcome}.csv and
data/extraction/narrative.csv. Every one of the 75 source rows lands in exactly one place: the
sheet of a configured outcome (poolable or not: non-poolable rows stay with a reason) or
narrative.csv. Source URLs are kept; the verbatim snippets are not copied.

Decisions that are judgement, not arithmetic, are written out below (FORMS) with the source row
they apply to, so a reader can check each one against the source table.

    .venv/bin/python data/build/build_extraction.py
"""

from __future__ import annotations

import csv
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT.parent / "shared" / "irl-review"
sys.path.insert(0, str(ROOT / "src"))

from metasr.extraction.sheets import (NARRATIVE_COLUMNS, OUTCOME_COLUMNS, STUDY_COLUMNS,  # noqa: E402
                                      write_sheet)

# Source outcome id -> outcome sheet id (only outcomes declared in config/config.yaml get a sheet).
SHEET_OF = {
    "edss": "edss", "t2_lesion_volume": "t2_lesion_volume", "brain_volume": "brain_volume",
    "relapse_rate": "relapse_rate",
    # "more frequent recurrence" is a relapse-rate finding (direction only).
    "relapse_frequency": "relapse_rate",
    "t2_lesion_count": "t2_lesion_count", "sdmt": "sdmt", "9hpt": "nine_hole_peg_test",
    "thalamic_volume": "thalamic_volume", "nfl": "nfl", "msss": "msss", "edss_change_rate": "edss_change_rate",
    "other:amygdala_volume": "amygdala_volume", "other:verbal_memory_recovery": "verbal_memory_recovery",
}
# dmt_exposure (treatment *use*, not response) has no sheet: dmt_response and
# high_dose_dmt_response stay empty, as no study reported response by rim status.

# Source units -> the unit declared for the outcome in config (same scale, different spelling).
UNIT_OF = {"EDSS": "EDSS points", "mm3 (total lesion volume)": "mm3", "total lesion count (n)": "lesions",
           "SDMT score": "SDMT points", "seconds (9-hole peg test)": "s", "MSSS": "MSSS points",
           "EDSS points per year": "EDSS points per year", "EDSS points/year": "EDSS points per year",
           "normalized volume": "normalised volume", "age-adjusted sNfL percentile": "age-adjusted sNfL percentile",
           "sNfL percentile points": "age-adjusted sNfL percentile",
           "relapses/year": "relapses per person-year"}

# Per source row (0-based position in outcomes.csv; study and outcome asserted): reported form,
# direction (group 1 = rim-positive) and, for rows that cannot be pooled, the reason. Effects are
# the numbers printed in the source's reported_effect cell.
FORMS = {
    2: ("Altokhis2022", "edss", dict(reported_form="direction_only", direction="group1_higher")),
    4: ("Blindenbacher2020", "edss", dict(reported_form="median_range")),
    5: ("Blindenbacher2020", "t2_lesion_count", dict(reported_form="median_range", direction="group1_higher")),
    6: ("Blindenbacher2020", "t2_lesion_volume", dict(reported_form="median_range")),
    7: ("Blindenbacher2020", "sdmt", dict(reported_form="median_range", direction="group1_lower")),
    8: ("Blindenbacher2020", "9hpt", dict(reported_form="median_range")),
    10: ("Calvi2023", "edss_change_rate", dict(reported_form="effect_ci", effect="0.15", effect_measure="beta",
                                               direction="group1_higher")),
    11: ("Comabella2021", "t2_lesion_volume", dict(reported_form="direction_only", direction="group1_higher")),
    13: ("Comabella2021", "nfl", dict(reported_form="effect_ci", effect="2.30", effect_measure="other",
                                      direction="group1_higher",
                                      exclude_reason="model coefficient on an unstated scale; group sizes not "
                                                     "reported")),
    15: ("DalBianco2021", "t2_lesion_count", dict(reported_form="other", direction="group1_higher",
                                                  exclude_reason="group sizes not reported (p without n)")),
    16: ("DalBianco2021", "thalamic_volume", dict(reported_form="other", direction="group1_lower",
                                                  exclude_reason="group sizes not reported (p without n)")),
    17: ("DalBianco2021", "nfl", dict(reported_form="direction_only", direction="group1_higher")),
    19: ("Diagnostics2023_IRL", "t2_lesion_count", dict(reported_form="direction_only", direction="group1_higher")),
    20: ("Diagnostics2023_IRL", "relapse_frequency", dict(reported_form="direction_only", direction="group1_higher")),
    22: ("Hemond2022", "edss", dict(reported_form="direction_only", direction="no_difference")),
    23: ("Hemond2022", "brain_volume", dict(reported_form="direction_only", direction="group1_lower")),
    32: ("Krajnc2022", "edss", dict(reported_form="p_value", direction="group1_higher")),
    33: ("Krajnc2022", "edss", dict(reported_form="other",
                                    exclude_reason="Spearman correlation of the IRL count with EDSS, not a group "
                                                   "comparison")),
    34: ("Maggi2021", "msss", dict(reported_form="p_value", direction="group1_higher")),
    35: ("Maggi2021", "msss", dict(reported_form="effect_ci", effect="1.1", effect_measure="beta",
                                   direction="group1_higher",
                                   exclude_reason="adjusted coefficient from a multivariable model; the same "
                                                  "groups' unadjusted comparison is the other row")),
    36: ("Maggi2021", "nfl", dict(reported_form="p_value", direction="group1_higher")),
    37: ("Maggi2021", "nfl", dict(reported_form="effect_ci", effect="16.3", effect_measure="beta",
                                  direction="group1_higher",
                                  exclude_reason="adjusted coefficient from a multivariable model; the same "
                                                 "groups' unadjusted comparison is the other row")),
    38: ("Maggi2021", "nfl", dict(reported_form="effect_ci", effect="30.4", effect_ci_lb="15.6", effect_ci_ub="45.2",
                                  effect_measure="beta", direction="group1_higher",
                                  exclude_reason="reference group of the >=4 PRL estimate not stated")),
    39: ("Marcille2022", "edss", dict(reported_form="p_value", direction="group1_higher",
                                      exclude_reason="p from a regression with a rim x lesion-burden interaction, "
                                                     "not a two-group test")),
    40: ("Marcille2022", "sdmt", dict(reported_form="p_value", direction="group1_lower",
                                      exclude_reason="p from a regression with a rim x lesion-burden interaction, "
                                                     "not a two-group test")),
    42: ("Marcille2022", "thalamic_volume", dict(reported_form="other",
                                                 exclude_reason="regression association (not significant); no "
                                                                "group comparison reported")),
    45: ("PMID34498108", "edss", dict(reported_form="p_value")),
    46: ("PMID34498108", "t2_lesion_volume", dict(reported_form="direction_only", direction="no_difference")),
    52: ("PMID37161349", "other:verbal_memory_recovery", dict(reported_form="p_value", direction="group1_lower")),
    54: ("PMID40585811", "t2_lesion_volume", dict(reported_form="p_value", direction="group1_higher")),
    55: ("PMID40585811", "thalamic_volume", dict(reported_form="p_value", direction="group1_lower")),
    56: ("PMID40585811", "other:amygdala_volume", dict(reported_form="p_value", direction="group1_lower")),
    58: ("PMID40585811", "9hpt", dict(reported_form="direction_only", direction="group1_higher")),
    60: ("Reeves2024", "relapse_rate", dict(reported_form="effect_p", effect="0.068", effect_measure="beta",
                                           direction="group1_higher")),
    62: ("Reeves2024", "edss_change_rate", dict(reported_form="effect_p", effect="0.045", effect_measure="beta",
                                                direction="group1_higher")),
    64: ("Weber2021", "edss", dict(reported_form="direction_only", direction="group1_higher")),
    65: ("Weber2021", "t2_lesion_volume", dict(reported_form="direction_only", direction="group1_higher")),
    70: ("Wittayer2023", "t2_lesion_volume", dict(reported_form="direction_only", direction="group1_higher")),
    71: ("Wittayer2023", "brain_volume", dict(reported_form="direction_only", direction="group1_lower")),
    73: ("QSM_LMCE_RRMS_PPMS", "thalamic_volume", dict(reported_form="direction_only", direction="group1_lower")),
}

# Where in the source the numbers were read (the shared table keeps URLs, not locations).
LOCATION_OF = {"Blindenbacher2020": "Table 1 (mirror of PMC7132556)",
               "Marcille2022": "abstract of the medRxiv preprint"}
LABEL_OF = {"BrainCommun_fcae158": "Brain Commun 6(3):fcae158", "Diagnostics2023_IRL": "Diagnostics 2023",
            "Marcille2022": "Marcille 2022", "PMID34498108": "PMID 34498108 (2022)",
            "PMID36504270": "PMID 36504270", "PMID37161349": "PMID 37161349 (2023)",
            "PMID40585811": "PMID 40585811", "QSM_LMCE_RRMS_PPMS": "QSM/LMCE study", "Klistorner_nd": "Klistorner n.d."}


def read(name: str) -> list[dict]:
    with open(SOURCE / name, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def study_label(s: dict) -> str:
    if s["study_id"] in LABEL_OF:
        return LABEL_OF[s["study_id"]]
    surname = s["first_author"].split()[0]
    return f"{surname} {s['year']}" if s["year"] else f"{surname} n.d."


def study_columns() -> list[str]:
    """The tool's studies-sheet columns with this review's own (config `extraction.study_columns`:
    the field strength) after `technique`, where the sheet has always had it."""
    at = STUDY_COLUMNS.index("technique") + 1
    return STUDY_COLUMNS[:at] + ["field_strength_T"] + STUDY_COLUMNS[at:]


def build_studies(source: list[dict]) -> list[dict]:
    return [{"study_id": s["study_id"], "record_id": s["record_id"], "label": study_label(s),
             "first_author": s["first_author"], "year": s["year"], "design": s["design"], "country": s["country"],
             "population": s["phenotype_mix"], "exposure_definition": s["rim_definition"],
             "technique": s["technique"], "field_strength_T": s["field_strength_T"], "n_total": s["n_total"],
             "n_group1": s["n_irl_pos"], "n_group2": s["n_irl_neg"], "followup_years": s["followup_years"],
             "overlapping_cohort_with": s["overlapping_cohort_with"], "source_url": s["source_url"],
             "notes": s["notes"]}  # risk-of-bias columns stay empty: the source has no judgements
            for s in sorted(source, key=lambda s: s["study_id"])]


def location(row: dict) -> str:
    if "Physicians Weekly" in row["reported_effect"]:
        return "news item (Physicians Weekly)"
    return LOCATION_OF.get(row["study_id"], "abstract")


def outcome_row(index: int, row: dict, record_id: str) -> dict:
    study_id, outcome, spec = FORMS[index]
    assert (row["study_id"], row["outcome"]) == (study_id, outcome), f"source row {index} changed"
    cells = {"study_id": row["study_id"], "comparison": row["comparison"], "timepoint": row["timepoint"],
             "n1": row["n_pos"], "n2": row["n_neg"], "p_value": row["p_value"], "record_id": record_id,
             "source_location": location(row), "source_url": row["source_url"], "derivation": row["derivation"],
             "unit": UNIT_OF.get(row["unit"], row["unit"]), "effect_ci_lb": row["ci_low"],
             "effect_ci_ub": row["ci_high"]}
    for g, side in ((1, "pos"), (2, "neg")):
        for field, src in (("mean", "mean"), ("sd", "sd"), ("median", "median"), ("q1_", "q1"), ("q3_", "q3"),
                           ("min", "min"), ("max", "max"), ("events", "events"), ("time", "person_years")):
            cells[f"{field}{g}"] = row[f"{src}_{side}"]
    cells.update(spec)
    notes = [f"source: {row['reported_effect']}"] if row["reported_effect"] else []
    if row["outcome"] != SHEET_OF[row["outcome"]]:
        notes.append(f"source outcome id: {row['outcome']}")
    if row["unit"] and cells["unit"] != row["unit"]:
        notes.append(f"source unit: {row['unit']}")
    cells["notes"] = "; ".join(notes)
    return cells


def narrative_row(row: dict, record_id: str) -> dict:
    notes = [f"poolable_as in source: {row['poolable_as']}"]
    if row["ci_low"] or row["ci_high"]:
        notes.append(f"95% CI {row['ci_low']} to {row['ci_high']}")
    return {"study_id": row["study_id"], "outcome": row["outcome"].removeprefix("other:"),
            "comparison": row["comparison"], "timepoint": row["timepoint"], "n1": row["n_pos"], "n2": row["n_neg"],
            "finding": row["reported_effect"], "p_value": row["p_value"], "unit": row["unit"],
            "record_id": record_id, "source_location": location(row), "source_url": row["source_url"],
            "derivation": row["derivation"], "notes": "; ".join(notes)}


def main(out: Path | None = None) -> int:
    """Write the sheets under `out` (default: data/extraction of this repository)."""
    if not SOURCE.is_dir():
        print(f"source not found: {SOURCE}", file=sys.stderr)
        return 1
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text(encoding="utf-8"))
    declared = set(config["outcomes"])
    studies = read("studies.csv")
    record_of = {s["study_id"]: s["record_id"] for s in studies}
    sheets: dict[str, list[dict]] = {oid: [] for oid in declared}
    narrative = []
    for index, row in enumerate(read("outcomes.csv")):
        sheet = SHEET_OF.get(row["outcome"])
        if sheet in declared:
            sheets[sheet].append(outcome_row(index, row, record_of[row["study_id"]]))
        else:
            assert index not in FORMS, f"source row {index} has a form but its outcome has no sheet"
            narrative.append(narrative_row(row, record_of[row["study_id"]]))
    out = Path(out) if out else ROOT / "data" / "extraction"
    write_sheet(out / "studies.csv", study_columns(), build_studies(studies))
    for oid, rows in sorted(sheets.items()):
        rows.sort(key=lambda r: (r["study_id"], r["comparison"]))
        write_sheet(out / "outcomes" / f"{oid}.csv", OUTCOME_COLUMNS, rows)
    narrative.sort(key=lambda r: (r["study_id"], r["outcome"], r["comparison"]))
    write_sheet(out / "narrative.csv", NARRATIVE_COLUMNS, narrative)
    placed = sum(len(r) for r in sheets.values()) + len(narrative)
    print(f"{len(studies)} studies; {placed} outcome rows: "
          f"{placed - len(narrative)} in {len(sheets)} outcome sheets, {len(narrative)} narrative")
    return 0


if __name__ == "__main__":
    sys.exit(main())
