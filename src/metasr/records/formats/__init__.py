"""One parser per export format. Each module exposes `parse(text, path) -> list[dict]` returning
raw records (the field names of `metasr.records.table.FIELDS`, plus `line`), and raises
`InputError` naming the file and line for malformed input."""
