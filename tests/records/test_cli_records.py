import csv

from metasr.cli import main


def test_parse_and_dedup_commands(fixtures, tmp_path, capsys):
    out = tmp_path / "wos.csv"
    assert main(["records", "parse", str(fixtures / "wos_tagged_12.txt"), "--out", str(out)]) == 0
    assert "12 records" in capsys.readouterr().out
    assert main(["records", "dedup", str(fixtures / "zotero_20.bib"),
                 str(fixtures / "zotero_20.csv"), str(out), "--out", str(tmp_path / "d")]) == 0
    with open(tmp_path / "d" / "records.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 52 and {"source_file", "source_index", "cluster_id"} <= set(rows[0])
    assert "52 records" in capsys.readouterr().out


def test_bad_input_is_a_message_not_a_traceback(tmp_path, capsys):
    bad = tmp_path / "empty.ris"
    bad.write_text("")
    assert main(["records", "parse", str(bad), "--out", str(tmp_path / "x.csv")]) == 2
    err = capsys.readouterr().err
    assert "empty.ris" in err and "Traceback" not in err
    assert not (tmp_path / "x.csv").exists()


def test_parse_with_a_column_mapping(tmp_path, capsys):
    export = tmp_path / "list.csv"  # synthetic
    export.write_text("Heading,When\nRim lesions and disability,2019\n")
    out = tmp_path / "out.csv"
    assert main(["records", "parse", str(export), "--out", str(out), "--format", "csv"]) == 2
    assert "no title column" in capsys.readouterr().err
    assert main(["records", "parse", str(export), "--out", str(out), "--format", "csv",
                 "--map", "title=Heading", "--map", "year=When"]) == 0
    with open(out, encoding="utf-8") as handle:
        row = next(csv.DictReader(handle))
    assert (row["title"], row["year"]) == ("Rim lesions and disability", "2019")
    assert main(["records", "parse", str(export), "--out", str(out), "--map", "titel=X"]) == 2


def test_a_hand_edited_parsed_table_is_checked(fixtures, tmp_path, capsys):
    out = tmp_path / "wos.csv"
    assert main(["records", "parse", str(fixtures / "wos_tagged_12.txt"), "--out", str(out)]) == 0
    lines = out.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    cells = next(csv.reader([lines[2]]))
    cells[header.index("source_index")] = "x"
    edited = [lines[0], lines[1], "", ",".join(f'"{c}"' for c in cells), "a,b"] + lines[3:]
    out.write_text("\n".join(edited) + "\n", encoding="utf-8")
    assert main(["records", "dedup", str(out), "--out", str(tmp_path / "d")]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "wos.csv" in err
    assert "row 4" in err and "source_index" in err and "row 5" in err and "2 cells" in err
    assert not (tmp_path / "d" / "records.csv").exists()


def test_the_same_export_twice_is_refused(fixtures, tmp_path, capsys):
    export = str(fixtures / "wos_tagged_12.txt")
    assert main(["records", "dedup", export, export, "--out", str(tmp_path / "d")]) == 2
    err = capsys.readouterr().err
    assert "given twice" in err and "wos_tagged_12.txt" in err and "Traceback" not in err


def test_dedup_onto_a_full_disk_names_the_file_and_keeps_nothing(fixtures, full_disk, capsys):
    out = full_disk / "records"
    code = main(["records", "dedup", str(fixtures / "zotero_20.bib"), str(fixtures / "wos_25.ris"),
                 "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and "disk is full" in err and str(out / "records.csv") in err and "Traceback" not in err
    assert list(out.iterdir()) == []


def test_dedup_into_a_read_only_folder(fixtures, read_only_dir, capsys):
    code = main(["records", "dedup", str(fixtures / "zotero_20.bib"), "--out", str(read_only_dir / "records")])
    err = capsys.readouterr().err
    assert code == 2 and "read-only" in err and str(read_only_dir / "records") in err and "Traceback" not in err


def test_an_unreadable_or_missing_export(fixtures, tmp_path, capsys, monkeypatch):
    import errno
    from pathlib import Path

    assert main(["records", "parse", str(tmp_path / "absent.ris"), "--out", str(tmp_path / "x.csv")]) == 2
    assert "absent.ris" in capsys.readouterr().err
    real = Path.read_bytes

    def denied(self):
        if self.name == "wos_25.ris":
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", denied)
    assert main(["records", "parse", str(fixtures / "wos_25.ris"), "--out", str(tmp_path / "x.csv")]) == 2
    err = capsys.readouterr().err
    assert "wos_25.ris" in err and "permission denied" in err and "readable" in err and "Traceback" not in err
