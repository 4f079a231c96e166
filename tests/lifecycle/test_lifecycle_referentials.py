"""Importing the public FINESS and RPPS extracts: layouts, upserts, malformed lines, speed."""

import json
import time

from lifecycle_support import FINESS_SAMPLE, RPPS_SAMPLE
from sqlalchemy import func, select

from idp.accounts.identifiers import finess_key_valid
from idp.extensions import db
from idp.models import Establishment, Professional, ProfessionalActivity
from idp.referentials import importer


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_lifecycle_finess_sample_imports_and_reimport_changes_nothing(app):
    with app.app_context():
        first = importer.import_finess(FINESS_SAMPLE)
        assert first.created == {"ref_establishments": 7}
        assert first.ignored == 2 and not first.rejected
        centre = db.session.get(Establishment, "750712184")
        assert centre.category == "124" and centre.postal_line == "75009 PARIS"
        assert centre.address_lines() == ["36 R DE LA CHAUSSEE D'ANTIN", "75009 PARIS"]
        # CSV quoting: a quoted field holding the separator.
        assert db.session.get(Establishment, "130012347").long_name == \
            'CENTRE DE SANTE "LES CALANQUES"; MARSEILLE'
        assert db.session.get(Establishment, "2A0001236").department == "2A"
        second = importer.import_finess(FINESS_SAMPLE)
        assert second.created == {"ref_establishments": 0}
        assert second.upserted == {"ref_establishments": 7}
        assert count(Establishment) == 7


def test_lifecycle_finess_windows_1252_file_and_updates(app, tmp_path):
    path = tmp_path / "old.csv"
    text = FINESS_SAMPLE.read_text(encoding="utf-8").replace("CENTRE DE SANTE DEMO PARIS 9;",
                                                             "CENTRE DE SANTÉ RENOMMÉ;", 1)
    path.write_bytes(text.encode("cp1252"))
    with app.app_context():
        importer.import_finess(FINESS_SAMPLE)
        summary = importer.import_finess(path)
        assert summary.created == {"ref_establishments": 0} and not summary.rejected
        assert db.session.get(Establishment, "750712184").name == "CENTRE DE SANTÉ RENOMMÉ"


def test_lifecycle_finess_malformed_lines_are_reported_by_number_and_skipped(app, tmp_path):
    lines = FINESS_SAMPLE.read_text(encoding="utf-8").splitlines()
    lines[2] = lines[2].replace("750712184", "750712185", 1)   # bad Luhn key
    lines[3] = lines[3].rsplit(";", 5)[0]                      # fields missing
    lines[4] = lines[4].replace("2001-01-01", "01/01/2001", 1)  # bad date
    lines.insert(5, "nimportequoi;1;2")
    path = tmp_path / "damaged.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with app.app_context():
        summary = importer.import_finess(path)
        assert [n for n, _ in summary.rejected] == [3, 4, 5, 6]
        assert "invalid FINESS" in summary.rejected[0][1]
        assert "fields instead of 31" in summary.rejected[1][1]
        assert "invalid date" in summary.rejected[2][1]
        assert count(Establishment) == 4


def test_lifecycle_cli_reports_and_fails_loudly(app, base_config, tmp_path, monkeypatch):
    from idp.referentials.cli import referentials

    # The command builds its own app from the environment: point it at the test stack.
    for name, value in base_config.items():
        if name.startswith("IDP_"):
            monkeypatch.setenv(name, value)
    runner = app.test_cli_runner()
    damaged = tmp_path / "damaged.csv"
    damaged.write_text(FINESS_SAMPLE.read_text(encoding="utf-8").replace(
        "750712184", "750712185", 1), encoding="utf-8")
    result = runner.invoke(referentials, ["import", "finess", str(damaged), "--no-progress"])
    assert result.exit_code != 0
    assert "line 3: invalid FINESS" in result.output
    assert "1 malformed lines skipped" in result.output
    not_finess = tmp_path / "x.csv"
    not_finess.write_text("hello;world\n")
    result = runner.invoke(referentials, ["import", "finess", str(not_finess), "--no-progress"])
    assert result.exit_code != 0 and "nothing imported" in result.output

    result = runner.invoke(referentials, ["import", "finess", str(damaged), "--no-progress",
                                          "--json"])
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["rejected"] == [{"line": 3, "reason": report["rejected"][0]["reason"]}]
    assert "invalid FINESS" in report["rejected"][0]["reason"]
    assert report["lines"] > 3 and report["upserted"]["ref_establishments"] > 0


def test_lifecycle_rpps_sample_imports_professionals_and_activities(app, tmp_path):
    with app.app_context():
        summary = importer.import_rpps(RPPS_SAMPLE)
        assert not summary.rejected
        assert summary.created == {"ref_professionals": 5, "ref_activities": 6}
        kit = db.session.get(Professional, "899700427885")
        assert (kit.family_name, kit.given_name, kit.profession_code) == ("DOC0042788", "KIT", "10")
        modes = db.session.scalars(select(ProfessionalActivity.mode_code).where(
            ProfessionalActivity.national_id == "899700427885")).all()
        assert sorted(modes) == ["L", "S"]
        # The older 52-column layout (the real line of the brief) is accepted.
        assert db.session.get(Professional, "810100271385").family_name == "LEGER"
        assert db.session.get(Professional, "0751012345").id_type == "0"
        again = importer.import_rpps(RPPS_SAMPLE)
        assert again.created == {"ref_professionals": 0, "ref_activities": 0}

        lines = RPPS_SAMPLE.read_text(encoding="utf-8").splitlines()
        lines[1] = lines[1].replace("99700427885", "99700427886")  # bad Luhn key
        lines[2] = lines[2][:-1]                                    # no trailing '|'
        lines[3] = lines[3].replace("|", "||", 1)                   # one column too many
        damaged = tmp_path / "rpps.txt"
        damaged.write_text("\n".join(lines) + "\n", encoding="utf-8")
        rejected = importer.import_rpps(damaged).rejected
        assert [(n, r.split(" ")[0]) for n, r in rejected] == [
            (2, "invalid"), (3, "line"), (4, "57")]


def _synthetic_finess(path, n: int) -> None:
    template = FINESS_SAMPLE.read_text(encoding="utf-8").splitlines()[2].split(";")
    with open(path, "w", encoding="utf-8") as out:
        out.write("finess;etalab;111;2026-05-12\n")
        i = made = 0
        while made < n:
            base = f"{10 + i % 80:02d}{i:06d}"[:8]
            i += 1
            fields = list(template)
            fields[1] = next(base + d for d in "0123456789" if finess_key_valid(base + d))
            fields[3] = f"CENTRE DE SANTE {made}"
            out.write(";".join(fields) + "\n")
            made += 1


def test_lifecycle_full_national_finess_size_imports_well_under_a_minute(app, tmp_path):
    path = tmp_path / "etalab-100k.csv"
    _synthetic_finess(path, 100_000)
    with app.app_context():
        started = time.monotonic()
        summary = importer.import_finess(path)
        elapsed = time.monotonic() - started
        assert summary.created == {"ref_establishments": 100_000}
        print(f"FINESS: 100 000 lines imported in {elapsed:.1f} s")
        assert elapsed < 30
