"""Search records: parse database exports into one table, then find duplicate records.

`metasr.records.formats` holds one parser per export format, `detect` decodes a file and picks
the parser from its content, `normalise` turns raw field values into comparable keys, `dedup`
clusters duplicate records with an audit trail, and `pipeline` holds the file-level steps the
workflow calls (`ingest_records`, `dedup_records`).
"""
