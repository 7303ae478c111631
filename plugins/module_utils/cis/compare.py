# -*- coding: utf-8 -*-
# Copyright: homelab.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Compare operators and test evaluation for CIS controls (kube-bench semantics)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

OPS = (
    "eq",
    "noteq",
    "gt",
    "gte",
    "lt",
    "lte",
    "has",
    "nothave",
    "regex",
    "notregex",
    "bitmask",
    "valid_elements",
    "in",
)
MISSING = object()


class Unknown:
    """A fact this host cannot show (e.g. whether a daemon runs, where systemd is not running).

    A test item on an Unknown value is undetermined: the control is WARN with `reason` unless
    another item already decides it.
    """

    def __init__(self, reason):
        self.reason = reason

    def __repr__(self):
        return "Unknown(%r)" % self.reason

    def __eq__(self, other):
        return isinstance(other, Unknown) and other.reason == self.reason

    def __hash__(self):
        return hash(self.reason)


def text(value):
    """Render a fact the way a config file spells it: booleans lower case, lists comma-joined."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(text(v) for v in value)
    if isinstance(value, dict):
        return ",".join(str(key) for key in value)
    if value is None:
        return ""
    return str(value)


def _number(value):
    try:
        return float(text(value).strip())
    except ValueError:
        raise ValueError("%r is not a number" % (value,)) from None


def _elements(value):
    if isinstance(value, (list, tuple)):
        return [text(v).strip() for v in value]
    return [v.strip() for v in text(value).split(",") if v.strip()]


def compare(op, actual, expected):
    """Return True when `actual` satisfies `op` against `expected`; ValueError on a bad operand."""
    if op == "eq":
        return text(actual) == text(expected)
    if op == "noteq":
        return text(actual) != text(expected)
    if op in ("gt", "gte", "lt", "lte"):
        number, bound = _number(actual), _number(expected)
        return {"gt": number > bound, "gte": number >= bound, "lt": number < bound, "lte": number <= bound}[op]
    if op in ("has", "nothave"):
        found = text(expected) in actual if isinstance(actual, (list, tuple)) else text(expected) in text(actual)
        return found if op == "has" else not found
    if op in ("regex", "notregex"):
        found = re.search(text(expected), text(actual), re.MULTILINE) is not None
        return found if op == "regex" else not found
    if op == "bitmask":
        try:
            mode, allowed = int(text(actual), 8), int(text(expected), 8)
        except ValueError:
            raise ValueError("bitmask needs octal modes, got %r and %r" % (actual, expected)) from None
        return mode & ~allowed == 0
    if op == "valid_elements":
        allowed = set(_elements(expected))
        return all(v in allowed for v in _elements(actual))
    if op == "in":
        return text(actual) in [text(v) for v in expected]
    raise ValueError("unknown compare op %r, expected one of %s" % (op, ", ".join(OPS)))


def lookup(facts, key):
    """Find `key` in facts: an exact key (a flag `--x`, a dotted sysctl name) or a dotted path, longest key first."""
    if not isinstance(facts, (dict, list)):
        return MISSING
    if isinstance(facts, dict) and key in facts:
        return facts[key]
    if isinstance(facts, list):
        head, _sep, rest = key.partition(".")
        if not head.isdigit() or int(head) >= len(facts):
            return MISSING
        return facts[int(head)] if not rest else lookup(facts[int(head)], rest)
    parts = key.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        head = ".".join(parts[:cut])
        if head in facts:
            found = lookup(facts[head], ".".join(parts[cut:]))
            if found is not MISSING:
                return found
    return MISSING


def describe(item):
    """Human-readable expectation of one test item."""
    keys = item["key"] if isinstance(item["key"], list) else [item["key"]]
    name = " or ".join(keys)
    if item.get("set") is False:
        return "%s is not set" % name
    if "op" not in item:
        return "%s is set" % name
    suffix = " (or unset)" if item.get("if_present") else ""
    return "%s %s %s%s" % (name, item["op"], text(item.get("value")), suffix)


def check_item(facts, item):
    """Evaluate one test item against a facts mapping; return (passed, actual text); passed is None when the
    value is Unknown."""
    keys = item["key"] if isinstance(item["key"], list) else [item["key"]]
    used, value = keys[0], MISSING
    for key in keys:
        value = lookup(facts, key)
        if value is not MISSING:
            used = key
            break
    if value is MISSING and "default" in item:
        used, value = "%s (default)" % keys[0], item["default"]
    if value is MISSING:
        return item.get("set") is False or bool(item.get("if_present")), "%s not set" % keys[0]
    if isinstance(value, Unknown):
        return None, "%s unknown: %s" % (used, value.reason)
    shown = "%s=%s" % (used, _abridge(text(value)))
    if item.get("set") is False:
        return False, shown
    if "op" not in item:
        return True, shown
    if item["op"] in ("regex", "notregex") and "\n" in text(value):
        match = re.search(text(item.get("value")), text(value), re.MULTILINE)
        shown = "%s: %s" % (used, "matches %r" % _abridge(match.group(0)) if match else "no line matches")
    return compare(item["op"], value, item.get("value")), shown


def _abridge(value, width=100):
    """One line of at most `width` characters, for results people read."""
    value = " ".join(value.split()) if "\n" in value else value
    return value if len(value) <= width else value[: width - 3] + "..."


def check_tests(facts, tests, match="all"):
    """Evaluate a list of test items with and/or semantics; return (passed, [actual texts]).

    passed is None when Unknown values leave the outcome open (no item decides it either way).
    """
    outcomes = [check_item(facts, item) for item in tests]
    passed = [outcome[0] for outcome in outcomes]
    if match == "any":
        verdict = True if True in passed else (None if None in passed else False)
    else:
        verdict = False if False in passed else (None if None in passed else True)
    shown = []
    for _verdict, line in outcomes:
        if line not in shown:
            shown.append(line)
    return verdict, shown
