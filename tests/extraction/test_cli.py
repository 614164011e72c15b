"""`metasr extraction validate` on the default review and on a broken copy."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def metasr(*args, cwd=REPO):
    return subprocess.run([sys.executable, "-m", "metasr.cli", *args], cwd=cwd, capture_output=True, text=True)


def test_validate_default_review():
    result = metasr("extraction", "validate")
    assert result.returncode == 0, result.stderr
    assert "valid" in result.stdout and "skewness" in result.stderr


def test_validate_reports_all_problems_as_text_and_json(tmp_path):
    shutil.copytree(REPO / "config", tmp_path / "config")
    shutil.copytree(REPO / "data" / "extraction", tmp_path / "data" / "extraction")
    sheet = tmp_path / "data/extraction/outcomes/msss.csv"
    text = sheet.read_text().replace(",0.003,", ",3,")
    sheet.write_text(text.replace("Maggi2021", "Magi2021", 1))
    result = metasr("extraction", "validate", "--config", "config/config.yaml", cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "0<p<=1" in result.stderr and "study-exists" in result.stderr
    result = metasr("extraction", "validate", "--json", cwd=tmp_path)
    data = json.loads(result.stdout)
    assert result.returncode == 2 and data["errors"] >= 2
    assert {"file", "row", "column", "value", "rule", "hint"} <= set(data["problems"][0]) | {"column", "value"}


def test_discrepancies_command(tmp_path):
    import yaml
    shutil.copytree(REPO / "config", tmp_path / "config")
    shutil.copytree(REPO / "data" / "extraction", tmp_path / "data" / "extraction")
    shutil.copytree(REPO / "data" / "extraction", tmp_path / "second")
    sheet = tmp_path / "second/outcomes/msss.csv"
    sheet.write_text(sheet.read_text().replace(",0.003,", ",0.03,"))
    config_path = tmp_path / "config/config.yaml"
    config = yaml.safe_load(config_path.read_text())
    config["extraction"]["second_extractor_dir"] = "second"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    result = metasr("extraction", "discrepancies", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "UNRESOLVED" in result.stdout and "p_value" in result.stdout
    report = json.loads(metasr("extraction", "discrepancies", "--json", cwd=tmp_path).stdout)
    assert report["overall"]["unresolved"] == 1 and report["overall"]["cells_compared"] > 100
    assert "discrepancy" in metasr("extraction", "validate", cwd=tmp_path).stderr


def test_validate_checks_record_ids_against_the_search_as_run_does(tmp_path):
    shutil.copytree(REPO / "config", tmp_path / "config")
    shutil.copytree(REPO / "data", tmp_path / "data")
    sheet = tmp_path / "data/extraction/studies.csv"
    sheet.write_text(sheet.read_text().replace("Absinta2019,R001,", "Absinta2019,pubmed:999,", 1))
    result = metasr("extraction", "validate", cwd=tmp_path)
    assert result.returncode == 2 and "record-exists" in result.stderr and "pubmed:999" in result.stderr


def test_validate_checks_where_inputs_lie_as_run_does(tmp_path):
    """SYNTHETIC: validate loaded the config without the location checks of `metasr run`: a
    studies.csv linked to a file outside the review was read and its lines echoed, a studies sheet
    in results/ and an outcome sheet linked outside were 'valid'."""
    import yaml

    shutil.copytree(REPO / "config", tmp_path / "config")
    shutil.copytree(REPO / "data" / "extraction", tmp_path / "data" / "extraction")
    secret = tmp_path.parent / f"{tmp_path.name}-secret.txt"
    secret.write_text("root:x:0:0:root:/root:/bin/bash\n")
    studies = tmp_path / "data/extraction/studies.csv"
    studies.unlink()
    studies.symlink_to(secret)
    result = metasr("extraction", "validate", cwd=tmp_path)
    assert result.returncode == 2 and "root:x" not in result.stdout + result.stderr
    assert "extraction.studies" in result.stderr and "outside the review folder" in result.stderr

    studies.unlink()
    (tmp_path / "results").mkdir()
    shutil.copy(REPO / "data/extraction/studies.csv", tmp_path / "results/studies.csv")
    edss = tmp_path / "data/extraction/outcomes/edss.csv"
    shutil.move(edss, tmp_path.parent / f"{tmp_path.name}-edss.csv")
    edss.symlink_to(tmp_path.parent / f"{tmp_path.name}-edss.csv")
    config = yaml.safe_load((tmp_path / "config/config.yaml").read_text())
    config["extraction"]["studies"] = "results/studies.csv"
    (tmp_path / "config/config.yaml").write_text(yaml.safe_dump(config))
    result = metasr("extraction", "validate", cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "results/studies.csv lies in results/" in result.stderr
    assert "'data/extraction/outcomes/edss.csv' is a link to" in result.stderr
