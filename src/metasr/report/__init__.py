"""Self-contained HTML report: summary of findings (GRADE), methods, figures, provenance."""
