"""The `leadql` command: flags, exit codes, formats, check, run, demo, the line REPL."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from leadql.cli import main
from leadql.repl import run_repl, statement_complete

MEMORY = ["-d", ":memory:"]


def test_command_prints_a_table(capsys) -> None:
    assert main([*MEMORY, "-c", "SELECT 42 AS answer, 'x' AS letter"]) == 0
    out = capsys.readouterr().out
    assert "answer" in out and "42" in out and "1 row" in out


def test_formats(capsys) -> None:
    assert main([*MEMORY, "--format", "csv", "-c", "SELECT 1 AS a, NULL AS b UNION ALL SELECT 2, 'x'"]) == 0
    assert capsys.readouterr().out.splitlines() == ["a,b", "1,", "2,x"]
    assert main([*MEMORY, "--format", "json", "-c", "SELECT 1.5::DECIMAL(4,2) AS a, DATE '2026-01-02' AS d"]) == 0
    assert json.loads(capsys.readouterr().out) == [{"a": 1.5, "d": "2026-01-02"}]


def test_query_error_exit_code_1_with_caret_on_stderr(capsys) -> None:
    assert main([*MEMORY, "-c", "FIND 10 leads WITH email BUDGET lots"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "syntax error: expected a number after `BUDGET`" in captured.err
    assert "^^^^" in captured.err
    assert "Traceback" not in captured.err


def test_a_statement_that_cannot_run_is_a_query_error(capsys, tmp_path) -> None:
    from tests.test_workspace import FORECAST, orders_tables

    assert main([*MEMORY, "-c", orders_tables(tmp_path) + FORECAST]) == 1
    err = capsys.readouterr().err
    assert "history is too short" in err and "hint:" in err and "Traceback" not in err


@pytest.mark.parametrize(
    "argv",
    [["--format", "xml", "-c", "SELECT 1"], ["frobnicate"], ["run"], ["-c"], ["check"]],
)
def test_usage_errors_exit_2(argv, capsys) -> None:
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2
    assert "leadql:" in capsys.readouterr().err


def test_run_a_script(tmp_path: Path, capsys) -> None:
    script = tmp_path / "q.lql"
    script.write_text("SELECT 1 AS a;\n-- comment\nSELECT 2 AS b;\n", encoding="utf-8")
    assert main([*MEMORY, "run", str(script)]) == 0
    out = capsys.readouterr().out
    assert out.count("1 row") == 2


def test_run_reports_the_script_name_and_position(tmp_path: Path, capsys) -> None:
    script = tmp_path / "bad.lql"
    script.write_text("SELECT 1;\nFIND 10 leads\n  BUDGET;\n", encoding="utf-8")
    assert main([*MEMORY, "run", str(script)]) == 1
    err = capsys.readouterr().err
    assert f"{script}: line 3, column 9" in err


def test_run_a_missing_or_binary_script_is_a_usage_error(tmp_path: Path, capsys) -> None:
    assert main([*MEMORY, "run", str(tmp_path / "nope.lql")]) == 2
    assert "no such script" in capsys.readouterr().err
    binary = tmp_path / "bin.lql"
    binary.write_bytes(b"\xff\xfe\x00\x01")
    assert main([*MEMORY, "run", str(binary)]) == 2


def test_check_reports_every_error_at_once(tmp_path: Path, capsys) -> None:
    script = tmp_path / "many.lql"
    script.write_text(
        "FIND 10 leads WITH email BUDGET 5;\n"  # fine
        "FIND 10 leads WITH email BUDGET lots;\n"  # syntax error, line 2
        "SHOW SOURCES;\n"  # fine
        "PREDICT COUNT(o.*, -3, 0) > 0 FOR EACH u.id;\n"  # rule error, line 4
        "SELEC 1;\n",  # syntax error, line 5
        encoding="utf-8",
    )
    assert main(["check", str(script)]) == 1
    captured = capsys.readouterr()
    assert captured.err.count("error") >= 3
    for line in (2, 4, 5):
        assert f"line {line}," in captured.err
    assert "5 statements checked, 3 errors" in captured.out


def test_check_ok_and_tree(tmp_path: Path, capsys) -> None:
    script = tmp_path / "ok.lql"
    script.write_text("PREDICT SUM(o.amount, 0, 30) FOR EACH c.id;", encoding="utf-8")
    assert main(["check", "--tree", str(script)]) == 0
    out = capsys.readouterr().out
    assert "Predict" in out and "task: regression" in out and "1 statement checked, ok" in out


def test_check_the_shipped_examples_and_stdlib(capsys) -> None:
    from leadql.resources import examples_path, stdlib_path

    files = [str(p) for p in sorted(examples_path().glob("*.lql"))]
    files += [str(p) for p in sorted(stdlib_path().rglob("*.lql"))]
    assert len(files) >= 7
    assert main(["check", *files]) == 0, capsys.readouterr().err


def test_demo_runs(capsys) -> None:
    assert main(["demo", "--people", "2000"]) == 0
    out = capsys.readouterr().out
    assert "Generated 2,000 people, 12 vendors" in out
    assert "leadql> ANALYZE;" in out and "predictive_power" in out
    assert "all parsed and checked, 0 errors" in out
    assert "task: binary_classification" in out


def test_scheduler_needs_an_existing_workspace(capsys, tmp_path) -> None:
    assert main(["-d", str(tmp_path / "none.leadql"), "scheduler", "--once"]) == 2
    assert "no workspace" in capsys.readouterr().err


def test_statement_complete() -> None:
    assert statement_complete("SELECT 1;")
    assert statement_complete("SELECT 1;  -- done\n")
    assert not statement_complete("SELECT ';'")
    assert not statement_complete("SELECT 1 /* ; */")
    assert not statement_complete("FIND 10 leads\n")


def test_line_repl_keeps_going_after_an_error(capsys) -> None:
    stdin = io.StringIO("SELECT 1 AS a;\nFIND 10 leads BUDGET;\n\\help\nSELECT\n  2 AS b;\n\\q\nSELECT 3;\n")
    stdout = io.StringIO()
    assert run_repl(":memory:", stdin=stdin, stdout=stdout) == 1  # a piped script with an error
    out = stdout.getvalue()
    assert "a" in out and "b" in out and "Statements end with ';'" in out
    assert "3" not in out.split("\\q")[-1]  # nothing after \q ran
    assert "expected a number after `BUDGET`" in capsys.readouterr().err


def test_a_piped_script_s_errors_point_at_its_lines(capsys) -> None:
    """Piped input runs statement by statement; its errors name the script's line (as
    `leadql run` does), not the statement's — they used to say line 1 for every statement."""
    script = "SELECT 1 AS a;\n\\help\n\nSELECT\n  2 AS b;\nFIND 10 leads\n  WITH emial BUDGET 5;\nSELECT 3 AS c\n  FROM nowhere"
    assert run_repl(":memory:", stdin=io.StringIO(script), stdout=io.StringIO()) == 1
    err = capsys.readouterr().err
    assert "--> line 7, column 8" in err and "7 |   WITH emial BUDGET 5;" in err
    assert "--> line 9, column" in err and "9 |   FROM nowhere" in err  # the unterminated last one


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    return env


def test_python_dash_m_and_exit_codes_in_a_real_process(tmp_path: Path) -> None:
    ok = subprocess.run(
        [sys.executable, "-m", "leadql", *MEMORY, "-c", "SELECT 7 AS seven"],
        capture_output=True, text=True, timeout=120, env=_env(), cwd=tmp_path,
    )  # fmt: skip
    assert ok.returncode == 0 and "seven" in ok.stdout, ok.stderr
    bad = subprocess.run(
        [sys.executable, "-m", "leadql", *MEMORY, "-c", "FIND"],
        capture_output=True, text=True, timeout=120, env=_env(), cwd=tmp_path,
    )  # fmt: skip
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    usage = subprocess.run(
        [sys.executable, "-m", "leadql", "--format", "nope"],
        capture_output=True, text=True, timeout=120, env=_env(), cwd=tmp_path,
    )  # fmt: skip
    assert usage.returncode == 2


def test_default_workspace_is_leadql_db_in_the_current_folder(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "leadql", "-c", "SELECT 1"],
        capture_output=True, text=True, timeout=120, env=_env(), cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "leadql.db").exists()


def test_json_output_is_strict_json(capsys, tmp_path) -> None:
    text = "SELECT 'nan'::DOUBLE AS a, 'inf'::DOUBLE AS b, [1.0, '-inf'::DOUBLE] AS c"
    assert main([*MEMORY, "--format", "json", "-c", text]) == 0
    out = capsys.readouterr().out
    assert "NaN" not in out and "Infinity" not in out
    assert json.loads(out) == [{"a": None, "b": None, "c": [1.0, None]}]
    assert main([*MEMORY, "-o", str(tmp_path / "x.json"), "-c", text]) == 0
    assert json.loads((tmp_path / "x.json").read_text())[0]["a"] is None


def test_bad_option_values_and_a_byte_order_mark(capsys, tmp_path) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["demo", "--people", "0"])
    assert caught.value.code == 2 and "must be at least 100, not 0" in capsys.readouterr().err
    workspace = tmp_path / "w.leadql"
    assert main(["-d", str(workspace), "-c", "SELECT 1"]) == 0
    capsys.readouterr()
    assert main(["-d", str(workspace), "scheduler", "--once", "--log", str(tmp_path / "no" / "x.log")]) == 2
    assert "--log" in capsys.readouterr().err
    assert main(["-d", str(workspace), "scheduler", "--once", "--log", str(tmp_path)]) == 2
    assert "is a folder" in capsys.readouterr().err
    script = tmp_path / "bom.lql"
    script.write_bytes("\ufeffSELECT 7 AS a;\n".encode())  # as some Windows editors save UTF-8
    assert main([*MEMORY, "--format", "csv", "run", str(script)]) == 0
    assert capsys.readouterr().out.splitlines() == ["a", "7"]
