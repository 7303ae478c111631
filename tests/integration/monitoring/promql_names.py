"""Metric names a PromQL expression reads (enough of PromQL for the collection's rules and dashboards)."""

import re

KEYWORDS = {
    "and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right", "offset", "bool", "inf",
    "nan", "atan2",
}  # fmt: skip
STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')
MATCHERS = re.compile(r"\{[^}]*\}")
GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
RANGE = re.compile(r"\[[^\]]*\]")
IDENT = re.compile(r"(?<![\w:.])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?")


def metric_names(expr):
    """The set of metric names in `expr` (functions, keywords and label names excluded)."""
    text = STRING.sub('""', expr)
    text = MATCHERS.sub(" ", text)
    text = GROUPING.sub(" ", text)
    text = RANGE.sub(" ", text)
    names = set()
    for match in IDENT.finditer(text):
        name, call = match.groups()
        if call or name in KEYWORDS:
            continue
        names.add(name)
    return names
