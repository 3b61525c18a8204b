"""LeadQL's language: the Lark grammar, the frozen AST, and the checks made right after parsing."""

from leadql.grammar.parser import check, parse, parse_one, split_statements
from leadql.grammar.validate import PredictionTask, validate

__all__ = ["PredictionTask", "check", "parse", "parse_one", "split_statements", "validate"]
