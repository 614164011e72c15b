"""Where an effect size came from: the sheet columns that travel with it into the results (the
extraction CSV, the pooled result's studies and the report), in their order there."""

PROVENANCE_COLUMNS = ("record_id", "source_location", "source_url", "reported_form", "conversion",
                      "conversion_detail", "derivation", "comparison", "timepoint", "es_id", "shared_group",
                      "shared_split")
