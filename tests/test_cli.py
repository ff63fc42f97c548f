"""The command line: user mistakes print one line and exit with code 2."""

from pathlib import Path

import click
import pytest

from riskmap.cli import cli, main
from riskmap.project import Project


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()  # what fixtures logged before the command is not the command's output
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    out, err = capsys.readouterr()
    return int(exit_info.value.code or 0), out, err


def _one_line_error(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def test_wrong_command(capsys):
    code, _, err = _run(capsys, "bouw", "--period", "2025Q3")
    assert code == 2
    assert _one_line_error(err) == "riskmap: fout: Onbekende opdracht 'bouw'."


@pytest.mark.parametrize(("args", "message"), [
    (["kwartaal"], "Ontbrekende optie '--period'."),
    (["kwartaal", "--period", "2025Q3", "--capacity", "x"],
     "Ongeldige waarde voor '--capacity': 'x' is geen geldig getal."),
    (["hotspot"], "Onbekende opdracht 'hotspot'. Bedoelde u 'hotspots'?"),
    (["load", "kvk"], "Ontbrekend argument 'BESTAND'."),
    (["status", "--foo"], "Onbekende optie '--foo'."),
])
def test_click_speaks_dutch(capsys, args: list[str], message: str):
    code, _, err = _run(capsys, *args)
    assert code == 2 and _one_line_error(err) == f"riskmap: fout: {message}"


def _commands(group: click.Group, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [path]
    for name, command in group.commands.items():
        found += (_commands(command, (*path, name)) if isinstance(command, click.Group)
                  else [(*path, name)])
    return found


@pytest.mark.parametrize("path", _commands(cli), ids=" ".join)
def test_help_is_dutch(capsys, path: tuple[str, ...]):
    code, out, _ = _run(capsys, *path, "--help")
    assert code == 0 and out.startswith(f"Gebruik: riskmap {' '.join(path)}".rstrip() + " [OPTIES]")
    assert "Toon deze hulp en stop." in out
    english = ["Usage", "Options", "Commands", "Show ", "[required]", "default:", "TEXT",
               "INTEGER", "FLOAT", "DIRECTORY", "FILE", "PATH", "PERIOD", " store "]
    assert [word for word in english if word in out] == []


def test_wrong_option_value(capsys):
    code, _, err = _run(capsys, "load", "register", "boetes", "x.csv")
    assert code == 2
    assert "boetes" in _one_line_error(err)


def test_missing_project(capsys, tmp_path: Path):
    code, _, err = _run(capsys, "status", "--project", str(tmp_path / "nergens"))
    assert code == 2
    assert "geen riskmap-project (geen riskmap.yaml)" in _one_line_error(err)


def test_missing_file_and_bad_period(capsys, project: Project):
    code, _, err = _run(capsys, "load", "kvk", "bestaat-niet.csv", "-p", str(project.root))
    assert code == 2
    assert "bestaat-niet.csv: bestand niet gevonden" in _one_line_error(err)
    code, _, err = _run(capsys, "build", "--period", "2025-3", "-p", str(project.root))
    assert code == 2
    assert "schrijf het als 2025Q3" in _one_line_error(err)


def test_bad_input_file_is_one_line(capsys, project: Project, tmp_path: Path):
    path = tmp_path / "meldingen.csv"
    path.write_text("zaaknummer;datum\nM1;2025-01-01\n", encoding="utf-8")
    code, _, err = _run(capsys, "load", "register", "meldingen", str(path), "-p", str(project.root))
    assert code == 2
    assert "meldingen.csv: kolom(men) ontbreken: categorie" in _one_line_error(err)


@pytest.mark.parametrize(("option", "value", "message"), [
    ("--sbi", "2015", "riskmap: fout: --sbi moet 2008 of 2025 zijn, niet '2015'"),
    ("--format", "xml", "riskmap: fout: onbekend formaat 'xml' voor --format; kies uit auto, "
                        "kvk-api, sjabloon"),
])
def test_bad_kvk_options_are_one_dutch_line(capsys, bare_project: Project, tmp_path: Path,
                                            option: str, value: str, message: str):
    path = tmp_path / "kvk.csv"
    path.write_text("vestigingsnummer;sbi_hoofdactiviteit;datum_aanvang;x_rd;y_rd\n"
                    "000037162403;56300;01-02-2020;185000;445000\n", encoding="utf-8")
    code, _, err = _run(capsys, "load", "kvk", str(path), option, value,
                        "-p", str(bare_project.root))
    assert code == 2
    assert _one_line_error(err) == message


def test_docs_branches_lists_both_versions(capsys):
    code, out, _ = _run(capsys, "docs", "branches")
    assert code == 0
    assert "| Kapsalons | 96021 | 9621 |" in out and "## Splitsingsregels" in out


def test_init_and_status(capsys, tmp_path: Path):
    code, out, _ = _run(capsys, "init", str(tmp_path / "almere"), "--gemeente", "gm0034")
    assert code == 0 and "project gemaakt" in out
    assert "gemeente: GM0034" in (tmp_path / "almere" / "riskmap.yaml").read_text(encoding="utf-8")
    code, _, err = _run(capsys, "init", str(tmp_path / "almere"), "--gemeente", "GM0034")
    assert code == 2 and "riskmap.yaml: bestaat al; niet overschreven" in _one_line_error(err)
    code, out, _ = _run(capsys, "status", "-p", str(tmp_path / "almere"))
    assert code == 0 and "Ladingen (herkomst):" in out


def test_status_lists_loads(capsys, project: Project):
    code, out, _ = _run(capsys, "status", "-p", str(project.root))
    assert code == 0
    assert "boundaries" in out and "bedrijventerreinen" in out


def test_help_does_not_import_the_heavy_libraries():
    import subprocess
    import sys

    heavy = ("pandas", "duckdb", "scipy", "sklearn", "matplotlib", "geopandas", "altair",
             "weasyprint")
    code = (f"import sys, riskmap.cli; print(' '.join(m for m in {heavy!r} "
            f"if m in sys.modules) or '-')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "-"


def test_docs_command_offers_every_reference():
    from riskmap.cli import REFERENCE_NAMES
    from riskmap.docs import REFERENCES

    assert set(REFERENCE_NAMES) == set(REFERENCES)


def test_the_command_ends_as_a_normal_exit_would(tmp_path: Path):
    """``riskmap`` (``riskmap.cli.run``) skips the interpreter's teardown: its exit status,
    console lines, log file and exit handlers are those of a normal exit."""
    import subprocess
    import sys

    marker = tmp_path / "atexit.txt"
    code = ("import atexit, pathlib, sys; from riskmap import cli; "
            f"atexit.register(pathlib.Path({str(marker)!r}).write_text, 'ran'); "
            "sys.argv[0] = 'riskmap'; cli.run()")

    def command(*args: str) -> subprocess.CompletedProcess[str]:
        marker.unlink(missing_ok=True)
        return subprocess.run([sys.executable, "-c", code, *args], capture_output=True,
                              text=True, cwd=tmp_path, check=False)

    done = command("init", "-p", "p", "--gemeente", "GM9999")
    assert done.returncode == 0 and marker.read_text() == "ran"
    assert (tmp_path / "p" / "riskmap.yaml").is_file()
    (tmp_path / "leeg.csv").write_text("a;b\n", encoding="utf-8")
    done = command("load", "bag", "-p", "p", "leeg.csv")
    assert done.returncode == 2 and done.stderr.startswith("riskmap: fout: ")
    assert marker.read_text() == "ran"
    logs = list((tmp_path / "p" / "logs").glob("*.log"))
    assert len(logs) == 1 and "refused: " in logs[0].read_text()  # flushed and closed
    done = command("--help")
    assert done.returncode == 0 and "Gebruik" in done.stdout
