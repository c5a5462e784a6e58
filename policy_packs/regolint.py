"""Rego v1 enforcement: the embedded interpreter accepts v0 syntax, so we refuse it here.

OPA 1.0 made ``if`` mandatory before every rule body and ``contains`` mandatory for
multi-value rules, and dropped ``import future.keywords``. A pack must read the same on
every engine, so a module that only v0 would parse is refused at load, and every module
must carry ``import rego.v1`` (a no-op on OPA 1.x that makes OPA 0.59+ enforce v1 too).
This is a lexical check over the top level of the module (comments and strings removed),
not a parser: the interpreter still parses each module when the pack is built.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_PACKAGE = re.compile(r"^\s*package\s+([A-Za-z_][A-Za-z0-9_.]*)\s*$", re.MULTILINE)
_IMPORT_V1 = re.compile(r"^\s*import\s+rego\.v1\s*$", re.MULTILINE)
_IMPORT_FUTURE = re.compile(r"^\s*import\s+future\.keywords", re.MULTILINE)
_PARTIAL_SET_V0 = re.compile(r"^([a-z_][A-Za-z0-9_]*)\s*\[[^\]]*\]\s*(if\b|\{)")
# Tokens after which "{" opens a value (object/set literal), not a rule body.
_VALUE_PRECEDERS = (":=", "=", "==", "!=", ",", "(", "[", "|", "&", "+", "-", "*", "/")
_VALUE_KEYWORDS = ("contains", "in", "some", "every", "not", "with", "as")


@dataclass(frozen=True)
class LintError:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


def package_of(source: str) -> str | None:
    match = _PACKAGE.search(_blank_comments_and_strings(source))
    return match.group(1) if match else None


def v1_errors(source: str) -> list[LintError]:
    """Every reason ``source`` is not a Rego v1 module (empty when it is)."""
    text = _blank_comments_and_strings(source)
    errors: list[LintError] = []
    if not _IMPORT_V1.search(text):
        errors.append(LintError(1, "missing `import rego.v1`"))
    for match in _IMPORT_FUTURE.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        errors.append(LintError(line, "`import future.keywords` is v0; v1 has the keywords"))
    depth = 0
    line_start = 0
    for index, char in enumerate(text):
        if char == "\n":
            line_start = index + 1
        elif char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        elif char == "{":
            if depth == 0:
                head = text[line_start:index]
                line = text.count("\n", 0, index) + 1
                error = _head_error(head, line)
                if error is not None:
                    errors.append(error)
            depth += 1
        elif char == "}":
            depth -= 1
    for number, raw_line in enumerate(text.splitlines(), start=1):
        if _PARTIAL_SET_V0.match(raw_line):
            # v0 reads `p[x] if` as a partial set, v1 as `p[x] := true`: engines would
            # disagree, so neither reading is accepted.
            errors.append(LintError(number, "`p[x]` rule without `contains` or `:=`"))
    return errors


def _head_error(head: str, line: int) -> LintError | None:
    stripped = head.rstrip()
    if not stripped:
        return None  # a "{" alone on its line continues an expression above
    if re.search(r"(^|\s)if$", stripped):
        return None
    if stripped.endswith(_VALUE_PRECEDERS):
        return None
    last_word = re.split(r"\s+", stripped)[-1]
    if last_word in _VALUE_KEYWORDS:
        return None
    return LintError(line, "rule body without `if` (v0 syntax)")


def _blank_comments_and_strings(source: str) -> str:
    """``source`` with comments and string contents replaced by spaces (lines kept)."""
    out: list[str] = []
    index = 0
    length = len(source)
    while index < length:
        char = source[index]
        if char == "#":
            end = source.find("\n", index)
            end = length if end == -1 else end
            out.append(" " * (end - index))
            index = end
        elif char == '"':
            end = index + 1
            while end < length and source[end] != '"':
                end += 2 if source[end] == "\\" else 1
            out.append('"' + " " * (min(end, length) - index - 1) + '"')
            index = end + 1
        elif char == "`":
            end = source.find("`", index + 1)
            end = length - 1 if end == -1 else end
            segment = source[index : end + 1]
            out.append("".join("\n" if c == "\n" else " " for c in segment))
            index = end + 1
        else:
            out.append(char)
            index += 1
    return "".join(out)
