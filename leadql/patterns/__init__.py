"""Patterns: lookalike learning from known buyers (CREATE PATTERN, FIND … LIKE / MATCHING)."""
