"""The shell's `\\help`: one line per statement, and a short reference for each.

    \\help            every statement with one line, and the shell's commands
    \\help FIND       FIND's syntax summary and one example
    \\help CREATE     every CREATE statement (any leading words select the statements they start)

The references are data, one `Topic` per statement keyword of the AST (`Statement.keyword`);
tests check that every statement has one and that every example parses and validates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Topic:
    keyword: str  # the statement's keyword, as `Statement.keyword` spells it
    summary: str  # one line
    syntax: str  # the syntax summary: [ ] optional, a | b a choice, … more of the same
    example: str  # one statement that parses and validates
    page: str  # where the manual covers it

    def render(self) -> str:
        syntax = "\n".join("  " + line for line in self.syntax.strip("\n").split("\n"))
        example = "\n".join("  " + line for line in self.example.strip("\n").split("\n"))
        return f"{self.keyword}: {self.summary}\n\n{syntax}\n\nExample:\n{example}\n\nMore: {self.page}"


TOPICS: tuple[Topic, ...] = (
    Topic(
        "CREATE SOURCE", "register a vendor's data: where it is, what it costs, how good it is",
        """
CREATE [OR REPLACE] SOURCE name FROM 'location'
  [FORMAT parquet | csv | json | ndjson | duckdb | sqlite] [OPTIONS (option = value, …)]
  [KEY column | KEY (column, …)] [MAP (category = expression, …)]
  PRICE amount PER [n] RECORD | QUERY [, …]  QUALITY q
  [UPDATED 'date'] [TIME COLUMN column] [REFERENCES (column -> table.column, …)]
""",
        "CREATE SOURCE data_axle FROM 'vendors/axle/*.csv.gz'\n"
        "  MAP (email = e_mail) PRICE 4 PER 1000 RECORDS QUALITY 0.85;",
        "docs/language/catalog.md",
    ),
    Topic(
        "CREATE TABLE", "register one of the company's own tables (free to read)",
        """
CREATE [OR REPLACE] TABLE name FROM 'location'
  [FORMAT …] [OPTIONS (option = value, …)] [KEY column | KEY (column, …)]
  [MAP (category = expression, …)] [TIME COLUMN column] [REFERENCES (column -> table.column, …)]
""",
        "CREATE TABLE leads FROM 'crm/leads.parquet' KEY lead_id TIME COLUMN created_at;",
        "docs/language/catalog.md",
    ),
    Topic(
        "CREATE CATEGORY", "add a canonical attribute FIND can ask for",
        """
CREATE [OR REPLACE] CATEGORY name [TYPE type]
  [NORMALIZE WITH normaliser | NORMALIZE AS expression] [GROUP group] [DESCRIPTION 'text']
""",
        "CREATE CATEGORY work_phone NORMALIZE WITH phone GROUP role;",
        "docs/categories.md",
    ),
    Topic(
        "CREATE PATTERN", "learn what good customers look like, to score prospects with",
        """
CREATE [OR REPLACE] PATTERN name FROM table [WHERE condition]
  [USING logistic | gbm] [WITH attribute, …]
""",
        "CREATE PATTERN keyboard_buyers FROM customers WHERE product = 'keyboard'\n"
        "  USING logistic WITH fico, income, age;",
        "docs/language/patterns.md",
    ),
    Topic(
        "CREATE TEMPLATE", "a reusable, parameterised set of FIND clauses",
        """
CREATE [OR REPLACE] TEMPLATE name([param [type] [:= default], …])
  AS find_clause …
""",
        "CREATE TEMPLATE west_lending(min_fico NUMBER := 690)\n"
        "  AS WITH first_name, email, fico WHERE fico >= $min_fico QUALITY >= 0.8;",
        "docs/language/templates.md",
    ),
    Topic(
        "ANALYZE", "measure sources and tables (rows, distinct values, nulls) for the planner",
        "ANALYZE [SOURCE | TABLE] [name]",
        "ANALYZE SOURCE acme_credit;",
        "docs/language/catalog.md",
    ),
    Topic(
        "SHOW", "list what the workspace holds",
        """
SHOW SOURCES | TABLES | LISTS | MODELS | PATTERNS | TEMPLATES | CATEGORIES
   | QUERIES | SCHEDULES | RUNS [name] | MODEL HISTORY name | PATTERN HISTORY name
""",
        "SHOW SOURCES;",
        "docs/language/catalog.md",
    ),
    Topic(
        "DESCRIBE", "everything about one object (also DESC)",
        "DESCRIBE | DESC  SOURCE | TABLE | LIST | MODEL | PATTERN | TEMPLATE | QUERY | CATEGORY  name",
        "DESCRIBE SOURCE acme_credit;",
        "docs/language/catalog.md",
    ),
    Topic(
        "PROFILE", "the columns' statistics, optionally against an outcome column",
        "PROFILE SOURCE | TABLE name [AGAINST table.column]",
        "PROFILE TABLE leads AGAINST deals.won;",
        "docs/language/catalog.md",
    ),
    Topic(
        "DROP", "remove an object from the workspace",
        "DROP SOURCE | TABLE | LIST | MODEL | PATTERN | TEMPLATE | QUERY | CATEGORY [IF EXISTS] name",
        "DROP TABLE IF EXISTS events;",
        "docs/language/catalog.md",
    ),
    Topic(
        "FIND", "buy leads: the cheapest sources that meet the criteria, budget and quality",
        """
FIND [n] leads
  [WITH attribute, …]
  [LIKE table [WHERE condition] | MATCHING pattern [MIN SCORE s]]
  [USING TEMPLATE name(param := value, …)]
  [WHERE condition] [FROM SOURCES source, …]
  [EXCLUDE LIST | TABLE | QUERY name, …]
  BUDGET amount [USD] [QUALITY >= q] [FRESHER THAN interval]
  [OPTIMIZE FOR COST | QUALITY | COUNT] [ESTIMATE] [INTO LIST name]
""",
        "FIND 5000 leads WITH email, fico, income\n"
        "  WHERE fico >= 700 AND state IN ('CA', 'NY')\n"
        "  BUDGET 500 QUALITY >= 0.85 INTO LIST fintech_q4;",
        "docs/language/find.md",
    ),
    Topic(
        "EXPLAIN", "show the plan of a FIND or PREDICT (ANALYZE also runs it, buying nothing)",
        "EXPLAIN [ANALYZE] FIND … | PREDICT …",
        "EXPLAIN FIND 100 leads WITH email BUDGET 20;",
        "docs/language/find.md",
    ),
    Topic(
        "PREDICT", "a predictive query over your event history (Kumo PQL and more)",
        """
PREDICT target [RANK | CLASSIFY] [TOP k] [FORECAST n TIMEFRAMES]
  FOR EACH table.key | FOR table.key = value | FOR table.key IN (value, …)
  [WHERE condition] [ASSUMING condition] [AT 'timestamp']
  [USING MODEL gbm | logistic] [AS MODEL name] [LIMIT n] [INTO LIST name]
target: AGG(table.column | table.* [WHERE condition], start, end [, unit]) [op value]
""",
        "PREDICT COUNT(events.* WHERE events.type = 'conversion', 0, 30, days) > 0\n"
        "  FOR EACH leads.lead_id AS MODEL lead_conversion;",
        "docs/language/predict.md",
    ),
    Topic(
        "EVALUATE PREDICT", "train on history and report how the query would have scored",
        "EVALUATE PREDICT …",
        "EVALUATE PREDICT SUM(orders.amount, 0, 30, days) FOR EACH users.user_id USING MODEL gbm;",
        "docs/language/predict.md",
    ),
    Topic(
        "EVALUATE MODEL", "a saved model's validation metrics (PLOT writes the curves to a file)",
        "EVALUATE MODEL name [VERSION n] [PLOT 'file']",
        "EVALUATE MODEL lead_conversion VERSION 2;",
        "docs/language/predict.md",
    ),
    Topic(
        "EXPLAIN MODEL", "what a saved model learned: its features and their weights",
        "EXPLAIN MODEL name [VERSION n]",
        "EXPLAIN MODEL lead_conversion;",
        "docs/language/predict.md",
    ),
    Topic(
        "SEGMENT LIST", "cluster a list's leads into segments",
        "SEGMENT LIST list [INTO k SEGMENTS] BY column, …",
        "SEGMENT LIST fintech_q4 INTO 5 SEGMENTS BY income, age, fico;",
        "docs/language/lifecycle.md",
    ),
    Topic(
        "RECORD OUTCOMES", "feed closed deals back, linked to the leads that produced them",
        """
RECORD OUTCOMES FROM 'location' KEY column OUTCOME column [AT column]
  [FORMAT …] [OPTIONS (option = value, …)]
""",
        "RECORD OUTCOMES FROM 'crm/closed_deals.csv' KEY lead_id OUTCOME won AT closed_at;",
        "docs/language/lifecycle.md",
    ),
    Topic(
        "EVALUATE OUTCOMES", "how delivered leads really converted",
        """
EVALUATE OUTCOMES [OF LIST | MODEL | PATTERN | SOURCE name]
  [BY DECILE | SOURCE | RUN | LIST | SEGMENT]
""",
        "EVALUATE OUTCOMES OF LIST hot_leads BY SEGMENT;",
        "docs/language/lifecycle.md",
    ),
    Topic(
        "RETRAIN", "train a new version of a model or pattern on current data",
        "RETRAIN MODEL | PATTERN name",
        "RETRAIN MODEL lead_conversion;",
        "docs/language/lifecycle.md",
    ),
    Topic(
        "USE", "make a version of a model or pattern the one in use",
        "USE MODEL | PATTERN name VERSION n",
        "USE MODEL lead_conversion VERSION 3;",
        "docs/language/lifecycle.md",
    ),
    Topic(
        "SAVE QUERY", "save a FIND, PREDICT or SELECT under a name, to run or schedule",
        "SAVE [OR REPLACE] QUERY name AS FIND … | PREDICT … | SELECT …",
        "SAVE QUERY daily_fintech AS\n  FIND 200 leads WITH email, fico WHERE fico >= 700 BUDGET 40 INTO LIST fintech_daily;",
        "docs/language/scheduling.md",
    ),
    Topic(
        "SCHEDULE", "run a saved query on a schedule (`leadql scheduler` runs what is due)",
        """
SCHEDULE name EVERY [n] unit [AT 'hh:mm'] [MAX SPEND amount [USD] PER unit]
SCHEDULE name CRON 'min hour day month weekday' [MAX SPEND amount [USD] PER unit]
""",
        "SCHEDULE daily_fintech EVERY DAY AT '06:00' MAX SPEND 1000 PER MONTH;",
        "docs/language/scheduling.md",
    ),
    Topic(
        "UNSCHEDULE", "stop a saved query's schedule (the query stays)",
        "UNSCHEDULE name",
        "UNSCHEDULE daily_fintech;",
        "docs/language/scheduling.md",
    ),
    Topic(
        "RUN QUERY", "run a saved query now",
        "RUN QUERY name",
        "RUN QUERY daily_fintech;",
        "docs/language/scheduling.md",
    ),
    Topic(
        "SELECT", "plain read-only SQL over the workspace (also WITH, FROM-first, VALUES)",
        "SELECT … | WITH … | FROM … | VALUES …        (DuckDB SQL; lists read as tables)",
        "SELECT lead_id, email FROM fintech_q4 WHERE quality > 0.9 ORDER BY quality DESC LIMIT 10;",
        "docs/language/sql.md",
    ),
)

ALIASES = {"DESC": "DESCRIBE", "WITH": "SELECT", "FROM": "SELECT", "VALUES": "SELECT",
           "SQL": "SELECT", "SEGMENT": "SEGMENT LIST", "SAVE": "SAVE QUERY"}  # fmt: skip

COMMANDS = (
    ("\\help [STATEMENT]", "this list, or the reference of one statement (\\h, \\?)"),
    ("\\timing", "switch the time shown after each result on or off"),
    ("\\q", "quit (also \\quit, quit, exit, Ctrl-D)"),
)


def overview() -> str:
    """Every statement with one line, then the shell's commands."""
    width = max(len(t.keyword) for t in TOPICS)
    lines = ["Statements end with ';' and may span lines. \\help STATEMENT shows one in full.", ""]
    lines += [f"  {t.keyword.ljust(width)}  {t.summary}" for t in TOPICS]
    lines += ["", "Commands:"]
    cwidth = max(len(c) for c, _ in COMMANDS)
    lines += [f"  {c.ljust(cwidth)}  {what}" for c, what in COMMANDS]
    lines += ["", "Keys: Tab completes, Alt-Enter runs an unfinished statement, "
                  "Ctrl-C cancels the running statement (or clears the input), Ctrl-D quits."]  # fmt: skip
    return "\n".join(lines)


def lookup(topic: str) -> list[Topic]:
    """The topics `topic` names: a statement keyword, an alias, or leading words (CREATE)."""
    key = re.sub(r"\s+", " ", topic.strip().rstrip(";")).upper()
    key = ALIASES.get(key, key)
    exact = [t for t in TOPICS if t.keyword == key]
    if exact:
        return exact
    return [t for t in TOPICS if t.keyword.startswith(key + " ")]


def help_text(topic: str = "") -> str:
    """What `\\help [topic]` prints."""
    if not topic.strip():
        return overview()
    found = lookup(topic)
    if found:
        return "\n\n".join(t.render() for t in found)
    from leadql.errors import did_you_mean

    words = [t.keyword for t in TOPICS] + list(ALIASES)
    hint = did_you_mean(topic.strip(), words)
    return (f"no help for `{topic.strip()}`" + (f"; {hint}" if hint else "")
            + "\n\\help lists the statements")  # fmt: skip
