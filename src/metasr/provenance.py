"""Where an effect size came from: the sheet columns that travel with it into the results (the
extraction CSV, the pooled result's studies and the report), in their order there; and which of
the sheets' columns are text however they look (read so by extraction, kept so in the pooled
studies). Pure Python: the stats modules read it at import."""

PROVENANCE_COLUMNS = ("record_id", "source_location", "source_url", "reported_form", "conversion",
                      "conversion_detail", "derivation", "comparison", "timepoint", "es_id", "shared_group",
                      "shared_split")

# The sheets' columns that stay text even when they look like numbers (ids and free text).
TEXT_COLUMNS = {"study_id", "record_id", "label", "comparison", "timepoint", "subgroup", "es_id", "p_value",
                "notes", "derivation", "source_url", "source_location", "first_author", "design",
                "country", "population", "exposure_definition", "technique", "no_data_reason",
                "exclude_reason", "unit", "overlapping_cohort_with", "followup_years"}
