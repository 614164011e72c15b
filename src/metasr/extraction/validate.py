"""Validation of a review's extraction sheets: every problem at once, as values.

`validate_review` runs everything (schemas, plausibility, cross-sheet rules, screening and
double-extraction checks); `check_outcome_rows` is the part the workflow step reuses for one sheet.
Rules, each with a failing fixture in tests/extraction: known-column, required-column, required, type,
allowed-values, minimum/pattern, form-cells, n>=1, n>=2 (groups with an SD), sd>0, se>0, q1<=median,
median<=q3, min<=q1, q3<=max, ci-order, ci-contains-estimate, events>=0, events<=n, time>0, -1<=r<=1,
ratio>0, p-format, 0<p<=1, effect_p: p<1, effect_p: effect not null, number-range, direction-consistent,
sd-se-agree (warning), skewness (warning), unique-row, unique-study, study-id-not-missing, study-exists,
n-consistent, unique-label (warning), overlap-exists, csv-delimiter, declared-outcome, sheet-exists,
included-has-data, study-has-data (warning), extracted-not-included, discrepancy, moderator-column,
analysis-column, subgroup-value, record-exists (against the search's records: record_id_problems);
and for files: file-exists, encoding, row-width, unique-column, header-row. A sheet that passes these is
then converted and its effects computed as the outcome job computes them
(metasr.extraction.converting.outcome_effect_problems): the effect-size computation's own rules
(metasr.stats.effects: a correlation strictly inside -1..1, a measure's smallest sample, ...), effect
in range / variance in range / variance ratio (metasr.stats.checks), derived-sd>0, generic-scale,
generic-kinds (warning) and row-not-pooled (warning: a row the run leaves out for a reason the sheet
does not give as its exclude_reason) are applied here, so the job meets none of them.
dependence-declared is metasr.dependence's.
"""

from __future__ import annotations

import re
from collections.abc import Sequence, Set as AbstractSet
from dataclasses import dataclass, replace
from pathlib import Path

from metasr import rob
from metasr.analysis_settings import outcome_moderator_variables, sheet_columns
from metasr.errors import InputError, Problem
from metasr.extraction import plausibility, schema
from metasr.extraction.converting import conversion_settings, outcome_effect_problems
from metasr.extraction.settings import extraction_settings
from metasr.extraction.sheets import NARRATIVE_COLUMNS, NARRATIVE_KEY, OUTCOME_KEY, Sheet, is_blank, read_sheet
from metasr.io import is_missing, read_csv
from metasr.provenance import PROVENANCE_COLUMNS

NARRATIVE_REQUIRED = ("study_id", "outcome", "finding", "record_id", "source_location")
DIRECTIONS = ("group1_higher", "group1_lower", "no_difference")


def shown_path(root: Path, relative: str) -> Path:
    """root/relative, written relative to the working directory when it lies below it."""
    path = Path(root) / relative
    try:
        return path.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return path


def validate_review(config: dict, root: Path, converted: dict | None = None,
                    record_ids: list[RecordIdCell] | None = None) -> list[Problem]:
    """Every problem (errors and warnings) in the review's extraction sheets.

    `converted`, when given, receives the rows of each outcome sheet that passed the row checks,
    converted as the outcome job converts them (outcome id -> [(row, EffectRow)], each row with
    its sheet row under converting.SHEET_ROW), so that a caller need not convert them again.
    `record_ids`, when given, receives every filled record_id cell of the sheets, for
    `record_id_problems` to check against the search's records.
    """
    root = Path(root)
    ext = extraction_settings(config)
    config_file = _config_file(root)
    problems: list[Problem] = []
    collected = record_ids if record_ids is not None else []
    studies_sheet = _read(shown_path(root, ext["studies"]), problems)
    if studies_sheet:
        collected += record_id_cells(studies_sheet)
    moderators = moderator_columns(config)
    analysed_by = analysis_columns(config)  # once: it walks every outcome
    extra_columns = (set(moderators) | {c for columns in analysed_by.values() for c in columns.values()}
                     | set(ext["study_columns"]))
    # None when studies.csv cannot be read: its problem is reported, and no row is checked against it
    studies = check_studies(studies_sheet, problems, extra_columns) if studies_sheet else None
    outcomes = config.get("outcomes") or {}
    extracted: dict[str, set[str]] = {}
    all_sheets_read = True  # else a study's rows may be in a sheet that could not be read
    outcome_dir = shown_path(root, ext["outcomes_dir"])
    for outcome_id in outcomes:
        path = outcome_dir / f"{outcome_id}.csv"
        if not path.exists():
            problems.append(Problem(message=f"outcome '{outcome_id}' is declared in config but has no sheet",
                                    file=str(path), rule="sheet-exists",
                                    hint="create the file with only the header row if no study reports it"))
            all_sheets_read = False
            continue
        sheet = _read(path, problems)
        if sheet is None:
            all_sheets_read = False
            continue
        collected += record_id_cells(sheet)
        characteristics = sheet_columns(outcomes[outcome_id] or {})
        sheet_problems, rows = check_outcome_rows(sheet, studies, characteristics)
        problems += [replace(p, hint=f"{p.hint}; or, if each effect size's value of it is a subgroup or moderator of "
                                     f"this outcome, name it in {config_file} (outcomes.{outcome_id}.subgroup or "
                                     ".meta_regression.moderators)") if p.rule == "known-column" else p
                     for p in sheet_problems]
        if studies_sheet:
            problems += analysis_column_problems(outcome_id, analysed_by.get(outcome_id, {}),
                                                 studies_sheet, sheet, config_file)
            problems += moderator_problems(outcome_moderators(outcome_id, outcomes[outcome_id] or {}), studies_sheet,
                                           sheet, config_file)
        if not any(p.severity == "error" for p in sheet_problems):
            effect_problems, rows_converted = _effect_problems(outcome_id, outcomes[outcome_id] or {}, ext, rows,
                                                               path)
            problems += effect_problems
            if converted is not None:
                converted[outcome_id] = rows_converted
        for _, row in sheet.numbered():
            if row.get("study_id"):
                extracted.setdefault(row["study_id"], set()).add(outcome_id)
    problems = at_defaults(problems, config.get("defaults") or {})
    problems += undeclared_sheets(outcome_dir, outcomes)
    narrative_path = shown_path(root, ext["narrative"]) if ext.get("narrative") else None
    if narrative_path is not None and narrative_path.exists():
        sheet = _read(narrative_path, problems)
        all_sheets_read = all_sheets_read and sheet is not None
        if sheet is not None:
            collected += record_id_cells(sheet)
            problems += check_narrative(sheet, studies if studies_sheet else None)
            for _, row in sheet.numbered():
                if row.get("study_id"):
                    extracted.setdefault(row["study_id"], set()).add("narrative")
    full_text = (config.get("screening") or {}).get("full_text")
    if studies_sheet is not None and studies is not None:
        screening = (screening_problems(shown_path(root, full_text), studies, studies_sheet.path, extracted)
                     if full_text else [])
        problems += screening
        if all_sheets_read:
            flagged = {p.value for p in screening}  # full-text screening's own rules name them already
            problems += [p for p in study_data_problems(studies, set(extracted), studies_sheet.path)
                         if p.value not in flagged]
    if ext.get("second_extractor_dir"):
        from metasr.extraction.discrepancies import discrepancy_problems
        problems += discrepancy_problems(config, root)
    return problems


def at_defaults(problems: list[Problem], defaults: dict) -> list[Problem]:
    """A column the outcomes inherit from `defaults:` that a sheet lacks: one problem at the
    defaults key, not one per outcome at a key the file does not have."""
    out, seen = [], set()
    for p in problems:
        setting = (p.key or "").split(".", 2)[2] if p.rule in ("analysis-column", "moderator-column") else ""
        if setting and _names(defaults, setting, p.value):
            p = replace(p, key=f"defaults.{setting}")
            if (p.key, p.value) in seen:
                continue
            seen.add((p.key, p.value))
        out.append(p)
    return out


def _names(defaults: dict, setting: str, column) -> bool:
    """Whether `defaults:` gives `column` at the dotted `setting` (order_by, subgroup,
    meta_regression.moderators)."""
    value: object = defaults
    for part in setting.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if setting == "meta_regression.moderators":
        return column in outcome_moderator_variables({"meta_regression": {"moderators": value}}) if value else False
    return value == column


def _effect_problems(outcome_id: str, outcome_cfg: dict, ext: dict, rows: list[tuple[int, dict]],
                     path: Path) -> tuple[list[Problem], list]:
    """What the outcome job's effect computation would refuse in a sheet that passed the row checks
    (the same function, metasr.extraction.converting.outcome_effect_problems), and the converted rows."""
    if not outcome_cfg.get("measure"):
        return [], []  # the config check reports an outcome without a measure
    try:
        settings = conversion_settings(outcome_id, outcome_cfg, ext)
    except InputError:
        return [], []  # an unknown measure: the config check reports it
    return outcome_effect_problems(rows, settings, outcome_cfg, str(path))


def _read(path: Path, problems: list[Problem]) -> Sheet | None:
    try:
        return read_sheet(path)
    except InputError as err:
        problems += err.problems
        return None


# ---- studies.csv ------------------------------------------------------------------------------

def check_studies(sheet: Sheet, problems: list[Problem], moderators: AbstractSet[str] = frozenset()) -> dict[str, dict]:
    """Append the problems of studies.csv; return its typed rows by study_id. The columns of
    `moderators` (those the config names: moderators, analysis columns, the review's own
    `extraction.study_columns`) may be there besides the schema's."""
    problems += [replace(p, hint=f"{p.hint}; or, if it is a column this review records, declare it in config.yaml "
                                 "under extraction.study_columns") if p.rule == "known-column" else p
                 for p in schema.header_problems(schema.STUDIES_SCHEMA, sheet.header, sheet.path)
                 if not (p.rule == "known-column" and p.column in moderators)]
    problems += sheet.shape_problems.values()
    allowed = set(schema.allowed_columns(schema.STUDIES_SCHEMA))
    studies: dict[str, dict] = {}
    for rownum, row in sheet.numbered():
        if is_blank(row):
            continue
        typed = schema.coerce({k: v for k, v in row.items() if k in allowed})
        row_problems = schema.row_problems(schema.STUDIES_SCHEMA, typed, sheet.path, rownum)
        flagged = {p.column for p in row_problems}  # the tool's rules only where the schema passed
        row_problems += [p for p in rob.row_problems(typed, sheet.path, rownum) if p.column not in flagged]
        problems += row_problems
        sid = row.get("study_id", "")
        if sid and is_missing(sid):  # the pooling and its statistics read such an id as no study at all
            problems.append(Problem(message=f"study id '{sid}' reads as a missing value (as R and pandas read it)",
                                    file=sheet.path, row=rownum, column="study_id", value=sid,
                                    rule="study-id-not-missing",
                                    hint="give the study an id such as its first author and year (Smith2020), "
                                         "here and in its extraction rows"))
        if sid in studies:
            problems.append(Problem(message=f"study '{sid}' appears twice", file=sheet.path, row=rownum,
                                    column="study_id", value=sid, rule="unique-study",
                                    hint=f"first defined in row {studies[sid]['__row__']}; one row per study"))
            continue
        n1, n2, nt = (typed.get(c) for c in ("n_group1", "n_group2", "n_total"))
        if isinstance(n1, int) and isinstance(n2, int) and isinstance(nt, int) and n1 + n2 > nt:
            problems.append(Problem(message=f"n_group1 + n_group2 = {n1 + n2} exceeds n_total {nt}",
                                    file=sheet.path, row=rownum, column="n_total", value=str(nt),
                                    rule="n-consistent", hint="check the group sizes"))
        if sid:
            studies[sid] = {**typed, "__row__": rownum}
    problems += _label_and_overlap_problems(studies, sheet.path)
    return studies


def moderator_columns(config: dict) -> dict[str, str]:
    """{column: the first config key naming it} for every meta-regression moderator."""
    columns: dict[str, str] = {}
    for oid, outcome in (config.get("outcomes") or {}).items():
        for column, key in outcome_moderators(oid, outcome or {}).items():
            columns.setdefault(column, key)
    return columns


def outcome_moderators(outcome_id: str, outcome: dict) -> dict[str, str]:
    """{column: config key} for the variables of one outcome's meta-regression moderators."""
    return dict.fromkeys(outcome_moderator_variables(outcome),
                         f"outcomes.{outcome_id}.meta_regression.moderators")


def _config_file(root: Path) -> str:
    """The review's config file as problems name it (the one folder.find_review reads)."""
    from metasr.folder import CONFIG_NAMES

    return str(next((shown_path(root, name) for name in CONFIG_NAMES if (root / name).is_file()), "config.yaml"))


def _did_you_mean(column: str, *sheets: Sheet) -> str:
    """ "did you mean 'x'? " for a sheet column close to a name the config gives, else "". """
    import difflib

    close = difflib.get_close_matches(column, [c for sheet in sheets for c in sheet.header], n=1, cutoff=0.75)
    return f"did you mean '{close[0]}'? " if close else ""


def moderator_problems(moderators: dict[str, str], studies_sheet: Sheet, outcome_sheet: Sheet,
                       config_file: str = "config.yaml") -> list[Problem]:
    """A moderator is a column of the studies sheet (a study characteristic) or of the outcome's
    sheet (a characteristic of each effect size); one that is neither is the config's problem."""
    return [Problem(message=f"meta-regression moderator '{column}' is neither a column of the studies sheet "
                            f"{studies_sheet.path} nor of the outcome sheet {outcome_sheet.path}",
                    file=config_file, key=key, value=column, rule="moderator-column",
                    hint=f"{_did_you_mean(column, studies_sheet, outcome_sheet)}correct the moderator's name in "
                         f"the config, or add a column '{column}' to the studies sheet with each study's value (or "
                         "to the outcome sheet with each effect size's value)")
            for column, key in moderators.items()
            if column not in studies_sheet.header and column not in outcome_sheet.header]


# The outcome settings that name a column to analyse by, and what the column is for.
COLUMN_SETTINGS = {"subgroup": "subgroup analysis", "order_by": "cumulative meta-analysis order"}


def analysis_columns(config: dict) -> dict[str, dict[str, str]]:
    """{outcome id: {setting: the column it names}} for the settings of COLUMN_SETTINGS. The default
    order (year) is left out: a review without years runs, and its cumulative analysis says why not."""
    from metasr.config import OUTCOME_DEFAULTS

    return {oid: {key: str(outcome[key]) for key in COLUMN_SETTINGS
                  if outcome.get(key) and outcome[key] != OUTCOME_DEFAULTS.get(key)}
            for oid, outcome in (config.get("outcomes") or {}).items()}


def analysis_column_problems(outcome_id: str, columns: dict[str, str], studies_sheet: Sheet,
                             outcome_sheet: Sheet, config_file: str = "config.yaml") -> list[Problem]:
    """A column an outcome analyses by (subgroup, order_by) is a column of the studies sheet or one
    of the outcome sheet's columns that reach the effect table; every study of the outcome has a
    subgroup (a study without one would be left out of the comparison)."""
    problems = []
    carried = set(outcome_sheet.header) & (set(PROVENANCE_COLUMNS) | {columns.get("subgroup")})
    for key, column in columns.items():
        if column in studies_sheet.header or column in carried:
            continue
        problems.append(Problem(
            message=f"the {COLUMN_SETTINGS[key]} column '{column}' is neither a column of the studies sheet "
                    f"{studies_sheet.path} nor of the outcome sheet {outcome_sheet.path}", file=config_file,
            key=f"outcomes.{outcome_id}.{key}", value=column, rule="analysis-column",
            hint=f"{_did_you_mean(column, studies_sheet, outcome_sheet)}set the outcome's {key} in the config to a "
                 f"column the studies sheet has (e.g. {'year' if key == 'order_by' else 'design, country'}), or add "
                 f"a column '{column}' to the studies "
                 "sheet with each study's value"))
    subgroup = columns.get("subgroup")
    if subgroup and subgroup in carried and subgroup not in PROVENANCE_COLUMNS:  # each effect size's own
        problems += [Problem(message=f"this effect size has no '{subgroup}', the subgroup of outcome '{outcome_id}'",
                             file=outcome_sheet.path, row=rownum, column=subgroup, rule="subgroup-value",
                             hint=f"give each row its {subgroup} (every effect size of a subgroup analysis needs one)")
                     for rownum, row in outcome_sheet.numbered()
                     if not is_blank(row) and not (row.get(subgroup) or "").strip()]
        if subgroup in studies_sheet.header:
            problems += _subgroup_disagreements(subgroup, studies_sheet, outcome_sheet)
    elif subgroup and subgroup in studies_sheet.header and subgroup not in carried:
        in_outcome = {row.get("study_id") for _, row in outcome_sheet.numbered() if row.get("study_id")}
        problems += [Problem(message=f"study '{row['study_id']}' has no '{subgroup}', the subgroup of the outcome "
                                     f"sheet {outcome_sheet.path}", file=studies_sheet.path, row=rownum,
                             column=subgroup, rule="subgroup-value",
                             hint=f"give the study its {subgroup} (every study of a subgroup analysis needs one)")
                     for rownum, row in studies_sheet.numbered()
                     if row.get("study_id") in in_outcome and not str(rob.study_value(row, subgroup) or "").strip()]
    return problems


def _subgroup_disagreements(subgroup: str, studies_sheet: Sheet, outcome_sheet: Sheet) -> list[Problem]:
    """Warnings for outcome rows whose subgroup differs from their study's value in the studies
    sheet: the outcome sheet's value is the one used, and a difference is likely a typo."""
    study_values = {row.get("study_id"): (row.get(subgroup) or "").strip() for _, row in studies_sheet.numbered()}
    problems = []
    for rownum, row in outcome_sheet.numbered():
        mine, theirs = (row.get(subgroup) or "").strip(), study_values.get(row.get("study_id"), "")
        if mine and theirs and mine != theirs:
            problems.append(Problem(
                message=f"'{subgroup}' is '{mine}' here but '{theirs}' for study '{row.get('study_id')}' in "
                        f"{studies_sheet.path}; this sheet's value is the one used", file=outcome_sheet.path,
                row=rownum, column=subgroup, value=mine, rule="subgroup-agrees", severity="warning",
                hint="make the two agree, or leave the column out of one of the sheets"))
    return problems


def _label_and_overlap_problems(studies: dict[str, dict], file: str) -> list[Problem]:
    problems: list[Problem] = []
    labels: dict[object, str] = {}  # label -> the first study that has it
    for sid, s in studies.items():
        label = s.get("label")
        if isinstance(label, str) and ("\n" in label or "\r" in label):  # a quoted cell may hold line breaks
            problems.append(Problem(message="the label has a line break: figures draw each label on one line",
                                    file=file, row=s["__row__"], column="label", value=label, rule="one-line-label",
                                    hint="write the label on one line, e.g. 'Smith 2020'"))
        if label in labels:
            problems.append(Problem(message=f"label '{label}' is also used by study '{labels[label]}'", file=file,
                                    row=s["__row__"], column="label", value=str(label), rule="unique-label",
                                    severity="warning", hint="figures will show two studies with the same name; "
                                                             "add a letter (2020a, 2020b)"))
        labels.setdefault(label, sid)
        for other in re.split(r"[;,]\s*", str(s.get("overlapping_cohort_with") or "")):
            if other and other not in studies:
                problems.append(Problem(message=f"overlapping cohort '{other}' is not a study id", file=file,
                                        row=s["__row__"], column="overlapping_cohort_with", value=other,
                                        rule="overlap-exists", hint="use study ids from this sheet, separated by ';'"))
    return problems


# ---- outcome sheets ---------------------------------------------------------------------------

def _cell(row: dict, column: str) -> str:
    return (row.get(column) or "").strip()


def _key_value(cell) -> str:
    """A cell of a row's key as the pipeline keeps it: text, stripped (es_id 1.1 and 1.10, or 1
    and 01, are different effect sizes, as they stay in the effect table and the pooled results)."""
    return (cell or "").strip()


def check_outcome_rows(sheet: Sheet, studies: dict[str, dict] | None,
                       characteristics: Sequence[str] = ()) -> tuple[list[Problem], list[tuple[int, dict]]]:
    """Problems of one outcome sheet and its typed rows (row number, typed dict).

    `studies` maps study_id -> typed studies.csv row; None skips the study cross-checks.
    `characteristics` are the columns the outcome analyses its effect sizes by
    (analysis_settings.sheet_columns): the sheet may hold them, and typed rows keep their text.
    """
    problems = [p for p in schema.header_problems(schema.OUTCOME_SCHEMA, sheet.header, sheet.path)
                if not (p.rule == "known-column" and p.column in characteristics)]
    problems += sheet.shape_problems.values()
    allowed = set(schema.allowed_columns(schema.OUTCOME_SCHEMA))
    kept = [c for c in characteristics if c in sheet.header and c not in allowed]
    typed_rows: list[tuple[int, dict]] = []
    seen: dict[tuple, tuple[int, dict]] = {}  # row key -> its first row and that row
    for rownum, row in sheet.numbered():
        if is_blank(row):
            continue
        typed = schema.coerce({k: v for k, v in row.items() if k in allowed})
        problems += schema.row_problems(schema.OUTCOME_SCHEMA, typed, sheet.path, rownum)
        problems += plausibility.row_problems(typed, sheet.path, rownum)
        typed.update({c: (row.get(c) or "").strip() for c in kept})
        key = tuple(_key_value(row.get(k)) for k in (*OUTCOME_KEY, *kept))  # a characteristic tells effect sizes apart
        if key in seen:
            first, _ = seen[key]
            told_apart = ", ".join([c for c in OUTCOME_KEY if c != "study_id"] + kept)
            column = "es_id" if _cell(row, "es_id") else "comparison"  # what most often tells them apart
            problems.append(Problem(message=f"duplicated row (same study, {told_apart})",
                                    file=sheet.path, row=rownum, column=column, value=row.get(column),
                                    rule="unique-row",
                                    hint=f"same as row {first}: delete one or tell them apart in "
                                         f"{told_apart.replace(', ', '/')}"))
        else:
            seen[key] = (rownum, row)
        if studies is not None:
            problems += _study_crosscheck(typed, studies, sheet.path, rownum)
        typed_rows.append((rownum, typed))
    problems += plausibility.shared_group_problems(typed_rows, sheet.path)
    return _absent_columns_once(problems, sheet), typed_rows


def _absent_columns_once(problems: list[Problem], sheet: Sheet) -> list[Problem]:
    """A cell that rows' forms need in a column the header lacks (often a misspelt header): one
    problem for the column, naming its rows, instead of one per row."""
    absent: dict[str, list[int]] = {}
    kept = []
    for p in problems:
        if p.rule == "form-cells" and p.column and p.column not in sheet.header and p.row is not None:
            absent.setdefault(p.column, []).append(p.row)
        else:
            kept.append(p)
    for column, rows in absent.items():
        shown = ", ".join(map(str, rows[:10])) + (f" and {len(rows) - 10} more" if len(rows) > 10 else "")
        kept.append(Problem(message=f"column '{column}' is missing, and the reported forms of rows {shown} need it",
                            file=sheet.path, row=1, column=column, rule="form-cells",
                            hint=f"add a column '{column}' to the header row (or correct a misspelt one)"))
    return kept


def _study_crosscheck(typed: dict, studies: dict[str, dict], file: str, rownum: int) -> list[Problem]:
    sid = typed.get("study_id")
    if sid is None:
        return []
    if sid not in studies:
        return [Problem(message=f"study '{sid}' is not in studies.csv", file=file, row=rownum, column="study_id",
                        value=str(sid), rule="study-exists", hint="add the study to studies.csv or fix the id")]
    study, problems = studies[sid], []
    for g, column in ((1, "n_group1"), (2, "n_group2")):
        n, limit = typed.get(f"n{g}"), study.get(column)
        if isinstance(n, int) and isinstance(limit, int) and n > limit:
            problems.append(Problem(message=f"n{g} = {n} exceeds the study's {column} = {limit}", file=file,
                                    row=rownum, column=f"n{g}", value=str(n), rule="n-consistent",
                                    hint="the analysed group cannot be larger than the group in studies.csv"))
    n1, n2, total = typed.get("n1"), typed.get("n2"), study.get("n_total")
    if isinstance(n1, int) and isinstance(n2, int) and isinstance(total, int) and n1 + n2 > total:
        problems.append(Problem(message=f"n1 + n2 = {n1 + n2} exceeds the study's n_total = {total}", file=file,
                                row=rownum, column="n1", value=str(n1), rule="n-consistent",
                                hint="check the group sizes against studies.csv"))
    return problems


def undeclared_sheets(outcome_dir: Path, outcomes: dict) -> list[Problem]:
    if not outcome_dir.is_dir():
        return []
    return [Problem(message=f"sheet for outcome '{p.stem}' is not declared in config", file=str(p),
                    rule="declared-outcome",
                    hint=f"add '{p.stem}' under outcomes: in the config, or move the file away")
            for p in sorted(outcome_dir.glob("*.csv")) if p.stem not in outcomes]


# ---- narrative.csv ----------------------------------------------------------------------------

def check_narrative(sheet: Sheet, studies: dict[str, dict] | None) -> list[Problem]:
    """Problems of narrative.csv; `studies` None (studies.csv unreadable) skips the study check."""
    problems = [Problem(message=f"unknown column '{c}'", file=sheet.path, row=1, column=c, value=c,
                        rule="known-column", hint=f"allowed columns: {', '.join(NARRATIVE_COLUMNS)}")
                for c in sheet.header if c not in NARRATIVE_COLUMNS]
    problems += sheet.shape_problems.values()
    seen: dict[tuple, int] = {}  # row key -> its first row
    for rownum, row in sheet.numbered():
        if is_blank(row):
            continue
        for column in NARRATIVE_REQUIRED:
            if not row.get(column):
                problems.append(Problem(message=f"required value '{column}' is empty", file=sheet.path,
                                        row=rownum, column=column, rule="required", hint="fill in this cell"))
        sid = row.get("study_id")
        if sid and studies is not None and sid not in studies:
            problems.append(Problem(message=f"study '{sid}' is not in studies.csv", file=sheet.path, row=rownum,
                                    column="study_id", value=sid, rule="study-exists",
                                    hint="add the study to studies.csv or fix the id"))
        direction = row.get("direction", "")
        if direction and direction not in DIRECTIONS:
            problems.append(Problem(message=f"'{direction}' is not an allowed value", file=sheet.path, row=rownum,
                                    column="direction", value=direction, rule="allowed-values",
                                    hint=f"use one of: {', '.join(DIRECTIONS)}, (empty)"))
        for column in ("n1", "n2"):
            text = row.get(column, "")
            if text and not (re.fullmatch(r"[0-9]{1,15}", text) and int(text) >= 1):
                problems.append(Problem(message="group size must be a whole number >= 1", file=sheet.path,
                                        row=rownum, column=column, value=text, rule="n>=1",
                                        hint="write the number of participants"))
        key = tuple(row.get(k, "") for k in NARRATIVE_KEY) + (row.get("finding", ""),)
        if key in seen:
            problems.append(Problem(message="duplicated row", file=sheet.path, row=rownum, column="finding",
                                    value=row.get("finding"), rule="unique-row", hint=f"same as row {seen[key]}"))
        seen.setdefault(key, rownum)
    return problems


def studies_without_data(studies: dict[str, dict], extracted: AbstractSet[str]) -> list[str]:
    """The studies of studies.csv that have no row in any extraction sheet and no no_data_reason."""
    return [sid for sid, study in studies.items() if sid not in extracted and not study.get("no_data_reason")]


def study_data_problems(studies: dict[str, dict], extracted: AbstractSet[str], studies_file: str) -> list[Problem]:
    """A warning for each study of studies.csv with no extraction rows and no no_data_reason.

    A warning, not an error: listing the included studies first and extracting them one by one is
    how extraction proceeds, and the pooled results of the rows there are are right. A reviewer
    still has to see which included studies contribute nothing and why (PRISMA 2020 item 16b), so
    the run names them here and the report names them where it counts the studies.
    """
    return [Problem(message=f"study '{sid}' has no rows in any extraction sheet and no no_data_reason",
                    file=studies_file, row=studies[sid]["__row__"], column="no_data_reason", value=sid,
                    rule="study-has-data", severity="warning",
                    hint="add its rows to the outcome or narrative sheets, or state in no_data_reason why it "
                         "contributes no data")
            for sid in studies_without_data(studies, extracted)]


# ---- record ids --------------------------------------------------------------------------------

# A record id as the records step gives it: `{source}:{index}`, the source a search.sources key.
_RECORD_ID = re.compile(r"^([a-z][a-z0-9_]*):([0-9]+)$")


@dataclass(frozen=True)
class RecordIdCell:
    file: str
    row: int
    value: str


def record_id_cells(sheet: Sheet) -> list[RecordIdCell]:
    return [RecordIdCell(sheet.path, rownum, str(row["record_id"]).strip()) for rownum, row in sheet.numbered()
            if str(row.get("record_id") or "").strip()]


def record_id_problems(cells: Sequence[RecordIdCell], sources: dict, record_counts: dict[str, int]) -> list[Problem]:
    """A sheet's record_id in the form of the records step's ids (`{source}:{index}`) must name a
    record of the review's search: an index beyond its export's records is an error (the export
    was replaced by a shorter one, or the id mistyped), a source the config does not have a
    warning. Any other text (a reference manager's id, R12; the starter's EXAMPLE-R1) is the
    reviewers' own reference and is not checked; so is every record_id of a review without a
    search (`record_counts` empty: there are no records to name)."""
    problems = []
    for cell in cells:
        match = _RECORD_ID.match(cell.value)
        if not match or not record_counts:
            continue
        source, index = match.group(1), int(match.group(2))
        if source not in sources:
            problems.append(Problem(
                message=f"record_id '{cell.value}' has the form of a record id ({{source}}:{{index}}) but the review "
                        f"has no search source '{source}'", file=cell.file, row=cell.row, column="record_id",
                value=cell.value, rule="record-exists", severity="warning",
                hint=f"the review's sources are {', '.join(sorted(sources))} (results/records/records.csv lists "
                     "every record_id)"))
        elif source in record_counts and index >= record_counts[source]:
            n = record_counts[source]
            problems.append(Problem(
                message=f"record_id '{cell.value}' names no record: the export of search source '{source}' "
                        f"({sources[source].get('file', '')}) holds {n} record{'s' if n != 1 else ''}"
                        + (f" ({source}:0 to {source}:{n - 1})" if n else ""),
                file=cell.file, row=cell.row, column="record_id", value=cell.value, rule="record-exists",
                hint=(f"'{index}' looks like a PubMed id, not a position in the export: " if index >= 100_000 else "")
                + "look the record up in results/records/records.csv: record ids follow the order of the "
                  "export, so a search exported again (in another order, or with fewer records) renumbers them"))
    return problems


# ---- screening --------------------------------------------------------------------------------

def full_text_includes(full_text_csv: Path) -> tuple[dict[str, int], list[int]] | None:
    """The full-text includes, as screening reads them (metasr.screening.decisions): study_id ->
    the first row including it, and the rows of includes that name no study (which screening
    refuses); None when the file is absent or includes nothing."""
    if not full_text_csv.exists():
        return None
    _, rows = read_csv(full_text_csv, strip=True)
    from metasr.screening.decisions import final_decision, split_study_ids

    included: dict[str, int] = {}
    unnamed: list[int] = []
    for rownum, r in enumerate(rows, start=2):
        if final_decision(r) == "include":
            for sid in split_study_ids(r.get("study_id")):
                included.setdefault(sid, rownum)
            if not split_study_ids(r.get("study_id")):
                unnamed.append(rownum)
    return (included, unnamed) if included or unnamed else None


def included_study_ids(full_text_csv: Path) -> set[str] | None:
    """study_id of full-text includes; None when the file is absent or includes nothing."""
    includes = full_text_includes(full_text_csv)
    return set(includes[0]) if includes is not None else None


def _unnamed_note(full_text_csv: Path, unnamed: list[int], sid: str) -> str:
    """What an extracted study that no include names may be missing: an include without a study_id."""
    if not unnamed:
        return ""
    rows = ", ".join(str(r) for r in unnamed[:10]) + (", ..." if len(unnamed) > 10 else "")
    if len(unnamed) == 1:
        return (f"; the include at row {rows} of {full_text_csv} names no study (empty study_id): if it is this "
                f"study's report, write '{sid}' in its study_id")
    return (f"; the includes at rows {rows} of {full_text_csv} name no study (empty study_id): if one is this "
            f"study's report, write '{sid}' in its study_id")


def screening_problems(full_text_csv: Path, studies: dict[str, dict], studies_file: str,
                       extracted: dict[str, set[str]]) -> list[Problem]:
    try:
        includes = full_text_includes(full_text_csv)
    except InputError as err:  # an unreadable decision file: reported with the sheets' problems
        return err.problems
    if includes is None:
        return []
    included, unnamed = includes
    problems = []
    for sid in sorted(included):
        study = studies.get(sid)
        if sid in extracted or (study and study.get("no_data_reason")):
            continue
        if study is None:  # the include's row is what names it: a study nobody entered, or a typo
            problems.append(Problem(message=f"study '{sid}' is included at full text but is neither in "
                                            f"studies.csv ({studies_file}) nor in any extraction sheet",
                                    file=str(full_text_csv), row=included[sid], column="study_id", value=sid,
                                    rule="included-has-data",
                                    hint="correct the study_id (and the record this row names), or add the "
                                         "study to studies.csv and extract its data"))
        else:
            problems.append(Problem(message=f"study '{sid}' is included at full text but has no extraction rows",
                                    file=studies_file, row=study["__row__"], column="no_data_reason", value=sid,
                                    rule="included-has-data",
                                    hint="extract its data, or state why in studies.csv no_data_reason"))
    for sid in sorted(set(studies) | set(extracted)):
        if sid not in included:
            study = studies.get(sid)
            problems.append(Problem(message=f"study '{sid}' has extraction data but no full-text include names it "
                                            f"({full_text_csv}){_unnamed_note(full_text_csv, unnamed, sid)}",
                                    file=studies_file, row=study["__row__"] if study else None, column="study_id",
                                    value=sid, rule="extracted-not-included",
                                    hint="write this study_id on its report's include in full-text screening, "
                                         "or remove its extraction rows"))
    return problems
