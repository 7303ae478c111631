# -*- coding: utf-8 -*-
# Copyright: homelab.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Load YAML with PyYAML when the host has it, else with a small block-YAML reader.

Managed hosts need only Python 3, and Kubernetes writes its static pod manifests and
KubeletConfiguration as plain block YAML: mappings, sequences, scalars, simple flow
collections and literal/folded block scalars. That subset is what the reader handles;
anchors, tags and multi-line flow collections raise ValueError.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

try:
    import yaml as _yaml
except ImportError:  # pragma: no cover - exercised on hosts without PyYAML
    _yaml = None

_INT = re.compile(r"^[-+]?(0|[1-9][0-9]*)$")
_FLOAT = re.compile(r"^[-+]?([0-9]+\.[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$")
_ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\", "/": "/", "0": "\0"}


def load(text):
    """Parse the first YAML document of `text`."""
    if _yaml is not None:
        try:
            return _yaml.load(text, Loader=getattr(_yaml, "CSafeLoader", _yaml.SafeLoader))
        except _yaml.YAMLError as exc:
            raise ValueError("invalid YAML: %s" % " ".join(str(exc).split())) from None
    return parse(text)


def parse(text):
    """Parse the first document of `text` with the built-in block-YAML reader."""
    return _Reader(text).document()


def _strip_comment(line):
    quote = None
    for i, char in enumerate(line):
        if quote:
            if char == quote:
                quote = None
        elif char in "'\"" and (i == 0 or line[i - 1] in " :[{,-"):
            quote = char
        elif char == "#" and (i == 0 or line[i - 1] in " \t"):
            return line[:i].rstrip()
    return line.rstrip()


def _split_items(body):
    items, depth, quote, start = [], 0, None, 0
    for i, char in enumerate(body):
        if quote:
            if char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        elif char == "," and depth == 0:
            items.append(body[start:i].strip())
            start = i + 1
    items.append(body[start:].strip())
    return [item for item in items if item]


def _split_key(content):
    """Return (key, rest) when `content` starts a mapping entry, else None."""
    if content[0] in "'\"":
        end = content.find(content[0], 1)
        if end > 0 and content[end + 1 : end + 2] == ":" and content[end + 2 : end + 3] in ("", " "):
            return scalar(content[: end + 1]), content[end + 2 :].strip()
        return None
    match = re.match(r"^([^\s\[\]{},#][^#]*?):(\s|$)", content)
    if not match or content.startswith("- "):
        return None
    return match.group(1).strip(), content[match.end() :].strip()


def scalar(token):
    """Convert one scalar token (plain, quoted or simple flow collection)."""
    token = token.strip()
    if token.startswith("'") and token.endswith("'") and len(token) > 1:
        return token[1:-1].replace("''", "'")
    if token.startswith('"') and token.endswith('"') and len(token) > 1:
        return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), token[1:-1])
    if token.startswith("[") and token.endswith("]"):
        return [scalar(item) for item in _split_items(token[1:-1])]
    if token.startswith("{") and token.endswith("}"):
        pairs = [_split_key(item) or (item, None) for item in _split_items(token[1:-1])]
        return {key: scalar(value) if value else None for key, value in pairs}
    if token[:1] in ("&", "*", "!", "[", "{"):
        raise ValueError("unsupported YAML construct: %s" % token)
    lower = token.lower()
    if lower in ("", "~", "null"):
        return None
    if lower in ("true", "false"):
        return lower == "true"
    if _INT.match(token):
        return int(token)
    if _FLOAT.match(token):
        return float(token)
    return token


class _Reader:
    def __init__(self, text):
        self.raw = text.splitlines()
        self.tokens = []
        for number, line in enumerate(self.raw):
            content = _strip_comment(line)
            if not content.strip():
                continue
            if content.startswith("---") and content.strip("-") == "" and self.tokens:
                break
            if content.startswith(("---", "...", "%")) and not self.tokens:
                continue
            indent = len(content) - len(content.lstrip(" "))
            self.tokens.append([indent, content.strip(), number])
        self.pos = 0

    def peek(self):
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def document(self):
        if not self.tokens:
            return None
        if len(self.tokens) == 1 and _split_key(self.tokens[0][1]) is None and not _is_item(self.tokens[0][1]):
            return scalar(self.tokens[0][1])
        result = self.node(self.tokens[0][0])
        if self.pos < len(self.tokens):
            token = self.tokens[self.pos]
            raise ValueError("line %d: unexpected %r" % (token[2] + 1, token[1]))
        return result

    def node(self, indent):
        token = self.peek()
        return self.sequence(indent) if _is_item(token[1]) else self.mapping(indent)

    def sequence(self, indent):
        items = []
        while True:
            token = self.peek()
            if token is None or token[0] != indent or not _is_item(token[1]):
                return items
            rest = token[1][1:].lstrip()
            if not rest:
                self.pos += 1
                nxt = self.peek()
                items.append(self.node(nxt[0]) if nxt and nxt[0] > indent else None)
            elif _split_key(rest) is not None or _is_item(rest):
                token[0], token[1] = indent + len(token[1]) - len(rest), rest
                items.append(self.node(token[0]))
            else:
                self.pos += 1
                items.append(self.value(rest, indent, token[2]))

    def mapping(self, indent):
        result = {}
        while True:
            token = self.peek()
            if token is None or token[0] != indent or _is_item(token[1]):
                return result
            entry = _split_key(token[1])
            if entry is None:
                raise ValueError("line %d: expected 'key: value', got %r" % (token[2] + 1, token[1]))
            key, rest = entry
            self.pos += 1
            if rest:
                result[key] = self.value(rest, indent, token[2])
                continue
            nxt = self.peek()
            if nxt and (nxt[0] > indent or (nxt[0] == indent and _is_item(nxt[1]))):
                result[key] = self.node(nxt[0])
            else:
                result[key] = None

    def value(self, rest, indent, number):
        if rest[0] not in "|>":
            return scalar(rest)
        lines = []
        end = number + 1
        while end < len(self.raw):
            line = self.raw[end]
            if line.strip() and len(line) - len(line.lstrip(" ")) <= indent:
                break
            lines.append(line)
            end += 1
        while self.pos < len(self.tokens) and self.tokens[self.pos][2] < end:
            self.pos += 1
        while lines and not lines[-1].strip():
            lines.pop()
        width = min((len(line) - len(line.lstrip(" ")) for line in lines if line.strip()), default=0)
        body = [line[width:] for line in lines]
        joined = "\n".join(body) if rest[0] == "|" else " ".join(line.strip() for line in body)
        return joined if "-" in rest else joined + "\n"


def _is_item(content):
    return content == "-" or content.startswith("- ")
