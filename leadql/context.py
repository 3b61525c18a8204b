"""What a statement handler gets: the workspace, the bound parameters, and the statement text
(so that any error, however late, can point into it)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from leadql import params
from leadql.errors import LeadQLError, LeadQLTypeError, LeadQLUnsupportedError, unsupported
from leadql.grammar import ast

if TYPE_CHECKING:
    from leadql.workspace import Workspace


@dataclass
class Context:
    ws: Workspace
    params: dict[str, Any]
    text: str
    # Set while a saved query runs (leadql.scheduling.runner.QueryRun): its FIND records the run
    # it belongs to and the leads it delivered.
    query_run: Any = None

    @property
    def con(self) -> Any:
        return self.ws.con

    @property
    def catalog(self) -> Any:
        return self.ws.catalog

    def located(self, error: LeadQLError, node: ast.Node | None) -> LeadQLError:
        return error.located(node.span if node is not None else None, self.text)

    def fail(self, cls: type[LeadQLError], message: str, node: ast.Node | None, hint: str | None = None) -> LeadQLError:
        return cls(message, span=node.span if node is not None else None, text=self.text, hint=hint)

    def unsupported(self, words: str, node: ast.Node) -> LeadQLUnsupportedError:
        return unsupported(words, node.span, self.text)

    # ------------------------------------------------------------ values
    def value(self, node: Any) -> Any:
        """A literal's or a parameter's Python value."""
        if isinstance(node, ast.Param):
            return self.params[node.name]  # presence is checked before anything runs
        if isinstance(node, ast.Literal):
            return node.value
        return node

    def text_value(self, node: Any, what: str) -> str:
        """A text value; `what` names the clause in errors (and the parameter it came from)."""
        value = self.value(node)
        if not isinstance(value, str):
            raise self.fail(LeadQLTypeError, f"{params.what(node, what)} must be text, not "
                            f"{params.article(type(value).__name__)}", node)  # fmt: skip
        return value

    def decimal_value(self, node: Any, what: str) -> Decimal:
        """A finite number (a numeric string too); `what` names the clause in errors."""
        value = self.value(node)
        where = params.what(node, what)
        if isinstance(value, bool) or not isinstance(value, (int, float, Decimal, str)):
            raise self.fail(LeadQLTypeError, f"{where} must be a number, not "
                            f"{params.article(type(value).__name__)}", node)  # fmt: skip
        try:
            number = Decimal(value if isinstance(value, Decimal) else str(value).strip())
        except InvalidOperation:
            raise self.fail(LeadQLTypeError, f"{where} must be a number, not {params.shown(value)}", node) from None
        if not number.is_finite():
            raise self.fail(LeadQLTypeError, f"{where} must be a finite number, not {params.shown(value)}", node)
        return number
