"""The one error tree of LeadQL.

Every error a user can cause is a `LeadQLError`. When it comes from statement text it carries a
`Span`, so that the CLI, the REPL and the Python API all render the same caret excerpt:

    error: expected a number after BUDGET
      --> line 2, column 10
       |
     2 |   BUDGET lots
       |          ^^^^
      = hint: write the most you will spend, e.g. BUDGET 500
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Span:
    """A region of statement text: 0-based offsets, 1-based lines and columns (end exclusive)."""

    start: int
    end: int
    line: int
    column: int
    end_line: int
    end_column: int

    @staticmethod
    def at(text: str, start: int, end: int | None = None) -> Span:
        """The span of `text[start:end]`, computing lines and columns from the offsets."""
        start = max(0, min(start, len(text)))
        end = start if end is None else max(start, min(end, len(text)))
        line = text.count("\n", 0, start) + 1
        column = start - (text.rfind("\n", 0, start) + 1) + 1
        end_line = text.count("\n", 0, end) + 1
        end_column = end - (text.rfind("\n", 0, end) + 1) + 1
        return Span(start, end, line, column, end_line, end_column)

    def cover(self, other: Span) -> Span:
        """The smallest span holding both."""
        first = self if self.start <= other.start else other
        last = self if self.end >= other.end else other
        return Span(first.start, last.end, first.line, first.column, last.end_line, last.end_column)


class LeadQLError(Exception):
    """Root of every error a LeadQL user can cause.

    `message` says what is wrong, `hint` what to do about it; `span` and `text` (the whole
    statement text the span points into) locate it when it comes from a statement.
    """

    kind = "error"

    def __init__(
        self,
        message: str,
        *,
        span: Span | None = None,
        text: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.span = span
        self.text = text
        self.hint = hint

    @property
    def line(self) -> int | None:
        return self.span.line if self.span else None

    @property
    def column(self) -> int | None:
        return self.span.column if self.span else None

    def located(self, span: Span | None, text: str | None) -> LeadQLError:
        """Attach a position if the error has none yet (errors raised deep inside keep theirs)."""
        if self.span is None and span is not None:
            self.span = span
        if self.text is None and text is not None:
            self.text = text
        return self

    def excerpt(self) -> str:
        """The offending line(s) with a caret underline, or '' when there is no position."""
        if self.span is None or self.text is None:
            return ""
        lines = self.text.split("\n")
        line_no = min(self.span.line, len(lines))
        source_line = lines[line_no - 1].replace("\t", " ")
        # Long lines (a 10 MB one-liner) are cut around the caret so the message stays readable.
        col = self.span.column - 1
        width = (
            self.span.end_column - self.span.column if self.span.end_line == self.span.line else 0
        )
        width = max(1, min(width, max(1, len(source_line) - col)))
        offset = 0
        if len(source_line) > 100:
            offset = max(0, col - 40)
            source_line = ("…" if offset else "") + source_line[offset : offset + 100]
            col = col - offset + (1 if offset else 0)
            width = min(width, 60)
        gutter = " " * len(str(line_no))
        return (
            f"{gutter} |\n"
            f"{line_no} | {source_line.rstrip()}\n"
            f"{gutter} | {' ' * col}{'^' * width}"
        )

    def render(self) -> str:
        """The one canonical way an error is shown, everywhere."""
        out = [f"{self.kind}: {self.message}"]
        if self.span is not None:
            out.append(f"  --> line {self.span.line}, column {self.span.column}")
            excerpt = self.excerpt()
            if excerpt:
                out.extend("  " + row for row in excerpt.split("\n"))
        if self.hint:
            out.append(f"  = hint: {self.hint}")
        return "\n".join(out)

    def __str__(self) -> str:
        if self.span is None:
            return self.message + (f" ({self.hint})" if self.hint else "")
        return f"{self.message} (line {self.span.line}, column {self.span.column})" + (
            f"; {self.hint}" if self.hint else ""
        )


class LeadQLSyntaxError(LeadQLError):
    """The text is not a well-formed LeadQL statement."""

    kind = "syntax error"


class LeadQLNameError(LeadQLError):
    """A name (source, table, column, category, model, list, query, parameter) is unknown."""

    kind = "name error"


class LeadQLTypeError(LeadQLError):
    """A value has the wrong type for where it is used."""

    kind = "type error"


class LeadQLSemanticError(LeadQLError):
    """The statement parses but breaks a rule of the language (e.g. a PQL window direction)."""

    kind = "invalid query"


class LeadQLConstraintError(LeadQLError):
    """No plan satisfies the constraints; the message names the binding one."""

    kind = "infeasible"


class LeadQLBudgetError(LeadQLError):
    """Spending would exceed what the user allowed."""

    kind = "budget error"


class LeadQLSourceError(LeadQLError):
    """A source (file, database, vendor) could not be read or failed during a scan."""

    kind = "source error"


class LeadQLExecutionError(LeadQLError):
    """A statement failed while running for a reason other than the ones above."""

    kind = "execution error"


class LeadQLCancelledError(LeadQLExecutionError):
    """The statement was cancelled (Ctrl-C in the shell, `Workspace.interrupt()` from Python)."""

    kind = "cancelled"


class LeadQLUnsupportedError(LeadQLExecutionError):
    """The statement is valid LeadQL but this engine cannot run it (yet, or on this backend)."""

    kind = "not supported"


def unsupported(words: str, span: Span | None, text: str | None) -> LeadQLUnsupportedError:
    """The one message for valid statements this release cannot run yet."""
    return LeadQLUnsupportedError(
        f"{words} is valid, but this release cannot run it yet",
        span=span,
        text=text,
        hint="parsing and checking work now: `leadql check FILE`; plain SELECT runs",
    )


def nearest(word: str, candidates: Iterable[str], *, cutoff: float = 0.6) -> str | None:
    """The candidate closest to `word` (case-insensitive), or None when nothing is close."""
    pool = {c.lower(): c for c in candidates}
    hits = difflib.get_close_matches(word.lower(), list(pool), n=1, cutoff=cutoff)
    return pool[hits[0]] if hits else None


def did_you_mean(word: str, candidates: Iterable[str]) -> str | None:
    """A 'did you mean …?' hint, or None."""
    hit = nearest(word, candidates)
    return f"did you mean `{hit}`?" if hit else None
