"""The interactive shell, driven through a real pseudo-terminal (pexpect): multi-line input,
completion of keywords and catalog names, highlighting, the error caret, Ctrl-C cancelling a
running statement but not the session, \\help, \\q, and history kept across sessions."""

from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path

import pytest

pexpect = pytest.importorskip("pexpect")

import leadql  # noqa: E402
from leadql.repl_complete import LeadQLCompleter, keywords, tokens  # noqa: E402
from leadql.repl_help import help_text  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\r")
SLOW = "SELECT sum(a.range * b.range) AS s FROM range(1000000) a, range(1000000) b;"


class Shell:
    """One `leadql -d FILE` in a pty; `expect` matches text with the terminal codes removed."""

    def __init__(self, workspace: Path, history: Path) -> None:
        env = {**os.environ, "PROMPT_TOOLKIT_NO_CPR": "1", "TERM": "xterm", "LEADQL_HISTORY": str(history),
               "PYTHONPATH": str(ROOT), "COLUMNS": "160", "LINES": "40"}  # fmt: skip
        self.child = pexpect.spawn(sys.executable, ["-m", "leadql", "-d", str(workspace)], env=env,
                                   dimensions=(40, 160), encoding="utf-8", timeout=30)  # fmt: skip
        self.raw = ""  # everything the shell printed, terminal codes included
        self.pos = 0  # where in the plain text the next expect starts

    def expect(self, pattern: str, timeout: float = 30) -> str:
        """Wait until `pattern` (a regex) appears in the output after the previous match."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.text
            m = re.compile(pattern).search(text, self.pos)
            if m:
                self.pos = m.end()
                return m.group(0)
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{pattern!r} not seen; output was:\n{text[-2000:]}")
            try:
                self.raw += self.child.read_nonblocking(4096, timeout=min(left, 0.5))
            except pexpect.TIMEOUT:
                continue
            except pexpect.EOF:
                if re.compile(pattern).search(self.text, self.pos):
                    continue
                raise AssertionError(f"{pattern!r} not seen before the shell exited:\n{text[-2000:]}") from None

    @property
    def text(self) -> str:
        return ANSI.sub("", self.raw)

    def send(self, text: str, pause: float = 0.15) -> None:
        self.child.send(text)
        time.sleep(pause)

    def close(self) -> None:
        if self.child.isalive():
            self.child.terminate(force=True)


@pytest.fixture
def shell(tmp_path):
    workspace = tmp_path / "shell.leadql"
    crm = tmp_path / "crm.csv"
    crm.write_text("email,state\na@x.com,CA\nb@y.com,NY\n", encoding="utf-8")
    with leadql.connect(workspace) as ws:
        ws.execute(f"CREATE TABLE prospects_crm FROM '{crm}' MAP (email = email, state = state)")
    shells: list[Shell] = []

    def start() -> Shell:
        s = Shell(workspace, tmp_path / "history")
        shells.append(s)
        s.expect(r"LeadQL on .*\\q to quit\.")
        s.expect("leadql>")
        return s

    yield start
    for s in shells:
        s.close()


def test_multiline_statement_completion_and_help(shell) -> None:
    s = shell()
    s.send("SELECT 41 + 1\r")
    s.expect(r"\.\.\.>")  # no `;` yet: a continuation line
    s.send("  AS answer;\r")
    s.expect(r"┃ answer ┃[\s\S]*?│ +42 │")
    s.expect(r"1 row in \d+\.\d{3} s")
    # Tab completes a keyword …
    s.send("SHO\t", pause=0.6)
    s.send(" TABLES;\r")
    s.expect(r"prospects_crm")
    s.expect(r"1 row in")
    # … and a catalog name.
    s.send("DESCRIBE TABLE prospects_c\t", pause=0.6)
    s.send(";\r")
    s.expect(r"table prospects_crm")
    s.send("\\help SCHEDULE\r")
    s.expect(r"SCHEDULE[^\n]*\n[\s\S]*?CRON")
    s.expect(r"Example")
    # \timing switches the time after results off; Alt-Enter runs input that has no `;`.
    s.send("\\timing\r")
    s.expect(r"timing is off")
    s.send("SELECT 6 AS six", pause=0.3)
    s.send("\x1b\r")
    s.expect(r"┃ six ┃[\s\S]*?│ +6 │[\s\S]*?1 row\s*\n")
    assert " in " not in s.text[s.pos - 40 : s.pos]
    s.send("\\q\r")
    s.child.expect(pexpect.EOF, timeout=15)
    s.child.close()
    assert s.child.exitstatus == 0


def test_an_error_shows_the_caret_and_the_session_goes_on(shell) -> None:
    s = shell()
    s.send("FIND 10 leads WITH emial BUDGET 5;\r")
    s.expect(r"name error: unknown category `emial`")
    s.expect(r"1 \| FIND 10 leads WITH emial BUDGET 5;\s+\|\s+\^\^\^\^\^")
    s.expect(r"hint: did you mean `email`\?")
    s.send("SELECT 'still here' AS status;\r")
    s.expect(r"still here")


def test_ctrl_c_cancels_the_statement_not_the_session(shell) -> None:
    s = shell()
    s.send(SLOW + "\r", pause=1.0)
    started = time.monotonic()
    s.child.sendintr()
    s.expect(r"cancelled after \d+\.\d+ s: SELECT was cancelled", timeout=20)
    assert time.monotonic() - started < 15
    s.send("SELECT 7 AS seven;\r")
    s.expect(r"┃ seven ┃[\s\S]*?│ +7 │")
    # Ctrl-C at the prompt clears the input and keeps the session.
    s.send("SELECT 'never run'", pause=0.3)
    s.child.sendintr()
    s.send("SELECT 'after clear' AS x;\r")
    s.expect(r"after clear")
    assert "never run'" not in s.text[s.text.index("after clear"):]


def test_history_is_kept_across_sessions(shell, tmp_path) -> None:
    first = shell()
    first.send("SELECT 'remember me' AS h;\r")
    first.expect("remember me")
    first.send("\\q\r")
    first.child.expect(pexpect.EOF, timeout=15)
    assert "SELECT 'remember me' AS h;" in (tmp_path / "history").read_text(encoding="utf-8")
    second = shell()
    second.send("\x1b[A", pause=0.3)  # up arrow: \q, then the statement before it
    second.send("\x1b[A", pause=0.5)
    second.send("\r")
    second.expect(r"remember me.*\n(.*\n)*.*1 row in")


# ------------------------------------------------------------------------ the pieces, directly


def test_keywords_come_from_the_grammar_and_drive_highlighting() -> None:
    words = keywords()
    assert {"FIND", "BUDGET", "PREDICT", "SCHEDULE", "CRON", "MATCHING", "SEGMENT"} <= words
    styled = tokens("FIND 10 leads WITH email WHERE state = 'CA' AND fico >= $min -- note")
    assert ("class:keyword", "FIND") in styled and ("class:keyword", "WHERE") in styled
    assert ("class:string", "'CA'") in styled and ("class:param", "$min") in styled
    assert ("class:number", "10") in styled and ("class:comment", "-- note") in styled
    assert ("", "email") in styled  # a category is a name, not a keyword


def test_completer_offers_catalog_names_and_never_fails(tmp_path) -> None:
    from prompt_toolkit.completion import CompleteEvent
    from prompt_toolkit.document import Document

    crm = tmp_path / "crm.csv"
    crm.write_text("email,state\na@x.com,CA\n", encoding="utf-8")
    with leadql.connect(tmp_path / "c.leadql") as ws:
        ws.execute(f"CREATE TABLE prospects_crm FROM '{crm}' MAP (email = email)")
        ws.execute("SAVE QUERY prospect_report AS SELECT count(*) FROM prospects_crm")
        completer = LeadQLCompleter(ws)

        def complete(text: str) -> dict[str, str]:
            found = completer.get_completions(Document(text), CompleteEvent(completion_requested=True))
            return {c.text: c.display_meta_text for c in found}

        assert complete("DESCRIBE TABLE pros") == {"prospects_crm": "table", "prospect_report": "saved query"}
        assert complete("sche")["schedule"] == "keyword"  # lower case in, lower case out
        assert complete("SELECT ema")["email"] in ("category", "column")
        ws.con.execute("DROP TABLE _leadql.lists")  # a damaged catalog: completion still answers
        completer.invalidate()
        assert "FIND" in complete("FI")


def test_help_texts() -> None:
    assert "FIND" in help_text() and "\\q" in help_text() and "\\timing" in help_text()
    assert help_text("find").startswith("FIND")
    assert help_text("save query").startswith("SAVE QUERY")
    assert help_text("create").count("Example:") == 5  # every CREATE statement
    assert help_text("desc").startswith("DESCRIBE")
    assert "did you mean `FIND`?" in help_text("FIDN")


def test_every_statement_has_help_with_an_example_that_parses() -> None:
    from leadql.grammar import ast, validate
    from leadql.repl_help import TOPICS

    by_keyword = {t.keyword: t for t in TOPICS}
    missing = sorted({t.keyword for t in ast.STATEMENT_TYPES} - set(by_keyword))
    assert not missing, f"statements without \\help: {missing}"
    for topic in TOPICS:
        statements = leadql.parse(topic.example)
        assert [s.keyword for s in statements] == [topic.keyword], topic.keyword
        validate(statements[0], topic.example)
        assert topic.summary and topic.keyword.split()[0] in topic.syntax


def test_highlighting_spans_lines_and_keywords_include_units_and_sql() -> None:
    from prompt_toolkit.document import Document

    from leadql.repl_complete import LeadQLLexer

    words = keywords()
    assert {"DAYS", "QUERIES", "RECORDS"} <= words  # from the grammar's unit terminals
    assert {"JOIN", "ORDER", "HAVING"} <= words  # DuckDB's SQL keywords
    line = LeadQLLexer().lex_document(Document("SELECT /* a\nstill comment */ 1 FROM events.type"))
    assert line(1)[0] == ("class:comment", "still comment */")
    assert ("", "type") in line(1)  # in a dotted name, not the keyword TYPE


def test_interrupt_during_a_find_scan_saves_no_list(tmp_path) -> None:
    """Ctrl-C in the shell calls ws.interrupt(); here the first scanned batch does. The scan
    stops rather than retrying, FIND raises LeadQLCancelledError, no list is written (the ledger
    keeps what the scan had already bought), and the workspace works afterwards."""
    from leadql.sample import generate

    data = generate(tmp_path / "data", people=1500, seed=3)
    with leadql.connect(tmp_path / "w.leadql") as ws:
        ws.execute(data.catalog_script())
        ws.progress = lambda event: ws.interrupt() if event.get("rows") else None
        find = "FIND 50 leads WITH email, hhi BUDGET 20 INTO LIST homes"
        with pytest.raises(leadql.LeadQLCancelledError, match="cancelled"):
            ws.execute(find)
        assert ws.execute("SHOW LISTS").rows == []
        assert ws.execute("SELECT status, delivered FROM _leadql.runs").rows in ([], [("failed", 0)])
        ws.progress = None
        assert len(ws.execute(find)) == 50


def test_an_interrupt_between_queries_still_stops_find_before_the_list(tmp_path) -> None:
    """ws.interrupt() while FIND runs Python between DuckDB queries (here: once the first scan
    has finished) reaches DuckDB too late to stop a query; FIND checks at its next step and
    before writing the list, so it is cancelled all the same and no list is written."""
    from leadql.sample import generate

    data = generate(tmp_path / "data", people=1500, seed=3)
    with leadql.connect(tmp_path / "w.leadql") as ws:
        ws.execute(data.catalog_script())
        calls = []

        def after_first_scan(event):
            calls.append(event)
            if len(calls) == 1:
                ws.interrupt()  # the scan is done: no query is in flight

        ws.progress = after_first_scan
        with pytest.raises(leadql.LeadQLCancelledError, match="FIND was cancelled") as caught:
            ws.execute("FIND 50 leads WITH email, hhi BUDGET 20 INTO LIST homes")
        assert caught.value.span is not None
        assert ws.execute("SHOW LISTS").rows == []
        ws.progress = None
        assert len(ws.execute("FIND 5 leads WITH email BUDGET 5")) == 5  # the flag was reset
