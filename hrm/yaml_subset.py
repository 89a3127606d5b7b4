"""Read the YAML that the reference repositories write (`all_config.yaml`, `config/arch/*.yaml`) without a YAML
library: the block style of PyYAML's `yaml.dump` and of hand-written config files.

Supported: block mappings and sequences (a sequence under a key may sit at the key's indentation, as
yaml.dump writes it), plain scalars (also folded over several lines), single- and double-quoted scalars
(escapes, folding), flow sequences of scalars and empty `{}`, comments, and YAML 1.1 scalar types as PyYAML
resolves them (null, bools including yes/no/on/off, ints, floats with a dot, .inf/.nan). Not supported, and
refused with the line number: anchors, aliases, tags, block scalars (| and >), nested flow collections, and
complex keys. Input is bounded by the caller; nesting is bounded here.
"""

from __future__ import annotations

import math
import re
from typing import Any

MAX_DEPTH = 32

_NULL = {"", "~", "null", "Null", "NULL"}
_TRUE = {"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON"}
_FALSE = {"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF"}
_INT = re.compile(r"[-+]?(0|[1-9][0-9_]*)")
_FLOAT = re.compile(r"[-+]?([0-9][0-9_]*)?\.[0-9_]*([eE][-+]?[0-9]+)?")
_SPECIAL_FLOATS = {".inf": math.inf, ".Inf": math.inf, ".INF": math.inf, "+.inf": math.inf, "+.Inf": math.inf,
                   "+.INF": math.inf, "-.inf": -math.inf, "-.Inf": -math.inf, "-.INF": -math.inf,
                   ".nan": math.nan, ".NaN": math.nan, ".NAN": math.nan}
_ESCAPES = {"0": "\0", "a": "\a", "b": "\b", "t": "\t", "\t": "\t", "n": "\n", "v": "\v", "f": "\f", "r": "\r",
            "e": "\x1b", " ": " ", '"': '"', "/": "/", "\\": "\\", "N": "\x85", "_": "\xa0", "L": "\u2028",
            "P": "\u2029"}
_HEX_ESCAPES = {"x": 2, "u": 4, "U": 8}


class YAMLSubsetError(ValueError):
    """Text outside the supported subset, or malformed; `line` is 1-based."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line


def parse_yaml(text: str) -> Any:
    """The value of a one-document YAML text (None for an empty one)."""
    return _Parser(text).document()


def resolve_plain(token: str) -> Any:
    """A plain scalar's value, typed as PyYAML's YAML 1.1 resolver types it."""
    if token in _NULL:
        return None
    if token in _TRUE:
        return True
    if token in _FALSE:
        return False
    if _INT.fullmatch(token):
        return int(token.replace("_", ""))
    if token in _SPECIAL_FLOATS:
        return _SPECIAL_FLOATS[token]
    if _FLOAT.fullmatch(token) and any(ch.isdigit() for ch in token):
        return float(token.replace("_", ""))
    return token


def _indent_of(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _is_skippable(line: str) -> bool:
    stripped = line.strip()
    return not stripped or stripped.startswith("#") or stripped in ("---", "...")


def _strip_comment(text: str) -> str:
    """Plain text up to a ` #` comment."""
    match = re.search(r"(^|\s)#", text)
    return (text[:match.start()] if match else text).rstrip()


def _is_sequence_item(content: str) -> bool:
    return content == "-" or content.startswith(("- ", "-\t"))


class _Parser:
    def __init__(self, text: str) -> None:
        self.lines = [line.rstrip("\r") for line in text.split("\n")]
        for number, line in enumerate(self.lines, 1):
            if "\t" in line[:len(line) - len(line.lstrip(" \t"))]:
                raise YAMLSubsetError("tabs cannot indent YAML", number)
        self.i = 0

    # -- navigation -------------------------------------------------------------------------------
    def _peek(self) -> tuple[int, str] | None:
        """(indent, content) of the next line that holds structure, skipping blanks and comments."""
        while self.i < len(self.lines) and _is_skippable(self.lines[self.i]):
            self.i += 1
        if self.i >= len(self.lines):
            return None
        line = self.lines[self.i]
        return _indent_of(line), line.strip()

    def _error(self, message: str) -> YAMLSubsetError:
        return YAMLSubsetError(message, min(self.i, len(self.lines) - 1) + 1)

    # -- structure --------------------------------------------------------------------------------
    def document(self) -> Any:
        head = self._peek()
        if head is None:
            return None
        value = self._block(head[0], depth=0)
        if self._peek() is not None:
            raise self._error("unexpected text after the document (bad indentation?)")
        return value

    def _block(self, indent: int, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise self._error(f"nested deeper than {MAX_DEPTH} levels")
        head = self._peek()
        assert head is not None
        if _is_sequence_item(head[1]):
            return self._sequence(indent, depth)
        if self._split_key(head[1]) is None:   # a lone scalar as the whole block
            return self._scalar(head[1], indent - 1)
        return self._mapping(indent, depth)

    def _mapping(self, indent: int, depth: int) -> dict:
        result: dict[Any, Any] = {}
        while (head := self._peek()) is not None and head[0] == indent and not _is_sequence_item(head[1]):
            split = self._split_key(head[1])
            if split is None:
                raise self._error("expected 'key: value'")
            key, rest = split
            if key in result:
                raise self._error(f"duplicate key {str(key)[:40]!r}")
            result[key] = self._value(indent, rest, depth)
        self._check_dedent(indent)
        return result

    def _sequence(self, indent: int, depth: int) -> list:
        result: list[Any] = []
        while (head := self._peek()) is not None and head[0] == indent and _is_sequence_item(head[1]):
            rest = head[1][1:]
            if not rest.strip() or rest.lstrip().startswith("#"):
                self.i += 1
                nxt = self._peek()
                result.append(self._block(nxt[0], depth + 1) if nxt is not None and nxt[0] > indent else None)
                continue
            # the item's content starts a block at its own column: re-read the line with the dash as a space
            column = indent + 1 + (len(rest) - len(rest.lstrip(" \t")))
            self.lines[self.i] = " " * column + rest.lstrip(" \t")
            result.append(self._block(column, depth + 1))
        self._check_dedent(indent)
        return result

    def _check_dedent(self, indent: int) -> None:
        head = self._peek()
        if head is not None and head[0] > indent:
            raise self._error("bad indentation")

    def _value(self, indent: int, rest: str, depth: int) -> Any:
        """The value after `key:` on a line at `indent` (the line is current)."""
        if rest and not rest.startswith("#"):
            return self._scalar(rest, indent)
        self.i += 1
        head = self._peek()
        if head is None:
            return None
        if head[0] > indent:
            return self._block(head[0], depth + 1)
        if head[0] == indent and _is_sequence_item(head[1]):   # yaml.dump's list under a key
            return self._sequence(indent, depth + 1)
        return None

    def _split_key(self, content: str) -> tuple[Any, str] | None:
        """(key, text after the colon) of a mapping line, None when it is not one."""
        if content[:1] in ("'", '"'):
            try:
                key, end = _quoted_on_line(content)
            except YAMLSubsetError:
                return None
            after = content[end:].lstrip(" ")
            return (key, after[1:].strip()) if after.startswith(":") and (len(after) == 1 or after[1] in " \t") \
                else None
        if content[:1] in "&*!%@`" or content == "?" or content.startswith(("? ", "?\t")):
            raise self._error(f"'{content[0]}' (anchors, aliases, tags, complex keys) is not supported")
        if content[:1] in "[{|>":
            return None
        match = re.search(r":(\s|$)", content)
        if match is None or " #" in content[:match.start()]:
            return None
        return resolve_plain(content[:match.start()].rstrip()), content[match.end():].strip()

    # -- scalars ----------------------------------------------------------------------------------
    def _scalar(self, text: str, parent_indent: int) -> Any:
        """A scalar that starts on the current line as `text`; continuation lines are those indented
        deeper than `parent_indent`. Leaves the current line after the scalar's last line."""
        first = text[:1]
        if first in ("'", '"'):
            return self._quoted(text, parent_indent)
        if first in ("[", "{"):
            self.i += 1
            return self._flow(_strip_comment(text))
        if first in "&*!|>%@`":
            raise self._error(f"'{first}' (anchors, aliases, tags, block scalars) is not supported")
        words = [_strip_comment(text)]
        ended_by_comment = words[0] != text.rstrip()
        self.i += 1
        while not ended_by_comment and self.i < len(self.lines):
            line = self.lines[self.i]
            if line.strip() and (_indent_of(line) <= parent_indent or line.strip().startswith("#")):
                break
            if not line.strip() and not self._more_continuation(parent_indent):
                break
            stripped = _strip_comment(line.strip())
            if re.search(r":(\s|$)", stripped):
                raise self._error("'key: value' inside a plain scalar (bad indentation?)")
            ended_by_comment = stripped != line.strip()
            words.append(stripped)
            self.i += 1
        return resolve_plain(_fold(words)) if len(words) > 1 else resolve_plain(words[0])

    def _more_continuation(self, parent_indent: int) -> bool:
        """Whether a blank line is followed (after more blanks) by a continuation line."""
        j = self.i
        while j < len(self.lines) and not self.lines[j].strip():
            j += 1
        return j < len(self.lines) and _indent_of(self.lines[j]) > parent_indent \
            and not self.lines[j].strip().startswith("#")

    def _quoted(self, text: str, parent_indent: int) -> str:
        quote, start_line = text[0], self.i
        pieces, body = [], text[1:]
        while True:
            end = _closing_quote(body, quote)
            if end is not None:
                pieces.append(body[:end])
                tail = body[end + 1:].strip()
                if tail and not tail.startswith("#"):
                    raise self._error("text after a closing quote")
                break
            pieces.append(body)
            self.i += 1
            line = self.lines[self.i] if self.i < len(self.lines) else ""
            if self.i >= len(self.lines) or (line.strip() and _indent_of(line) <= parent_indent):
                self.i = start_line
                raise self._error("a quoted scalar is not closed")
            body = line.strip()
        self.i += 1
        if quote == "'":
            return _fold(_trim_folded(pieces)).replace("''", "'")
        return _double_quoted(pieces, self._error)

    def _flow(self, text: str) -> Any:
        if text in ("[]", "{}"):
            return [] if text == "[]" else {}
        if not (text.startswith("[") and text.endswith("]")):
            raise self._error("flow mappings and multi-line flow collections are not supported")
        inner = text[1:-1]
        if any(ch in inner for ch in "[]{}"):
            raise self._error("nested flow collections are not supported")
        return [self._flow_item(item.strip()) for item in _split_commas(inner, self._error) if item.strip()]

    def _flow_item(self, item: str) -> Any:
        if item[:1] in ("'", '"'):
            value, end = _quoted_on_line(item)
            if item[end:].strip():
                raise self._error("text after a closing quote")
            return value
        return resolve_plain(item)


def _fold(lines: list[str]) -> str:
    """YAML line folding: a line break becomes a space, or, when empty lines follow it, one newline per empty
    line (the last line, where a quoted scalar closes, is content even when empty)."""
    out, pending_newlines, last = lines[0], 0, len(lines) - 1
    for index, line in enumerate(lines[1:], 1):
        if not line and index < last:
            pending_newlines += 1
            continue
        out += ("\n" * pending_newlines if pending_newlines else " ") + line
        pending_newlines = 0
    return out


def _closing_quote(body: str, quote: str) -> int | None:
    """Index of the closing quote in `body` (the text after an opening quote or a continuation line)."""
    i = 0
    while i < len(body):
        ch = body[i]
        if quote == "'" and ch == "'":
            if body[i + 1:i + 2] == "'":
                i += 2
                continue
            return i
        if quote == '"':
            if ch == "\\":
                i += 2
                continue
            if ch == '"':
                return i
        i += 1
    return None


def _quoted_on_line(text: str) -> tuple[str, int]:
    """A quoted scalar that closes on this line: (value, index after the closing quote)."""
    end = _closing_quote(text[1:], text[0])
    if end is None:
        raise YAMLSubsetError("a quoted scalar is not closed", 0)
    raw = text[1:end + 1]
    value = raw.replace("''", "'") if text[0] == "'" else _unescape(raw, _raise_plain)
    return value, end + 2


def _raise_plain(message: str) -> YAMLSubsetError:
    return YAMLSubsetError(message, 0)


def _trim_folded(pieces: list[str]) -> list[str]:
    """Lines of a folded scalar without the whitespace around the line breaks."""
    last = len(pieces) - 1
    return [(p if i == last else p.rstrip(" \t")) if i == 0 else (p.strip(" \t") if i < last else p.lstrip(" \t"))
            for i, p in enumerate(pieces)]


def _double_quoted(pieces: list[str], error: Any) -> str:
    """Join the lines of a double-quoted scalar, then resolve its escapes. A line that ends in an escaping
    backslash joins the next directly (an escaped line break); other breaks fold, and an escaped trailing
    space (`\\ `) is content, not whitespace to trim."""
    out, breaks, escaped_break, last = "", 0, False, len(pieces) - 1
    for index, piece in enumerate(pieces):
        text = piece if index == 0 else piece.lstrip(" \t")
        ends_escaped = index < last and _odd_backslashes_before(text, len(text))
        if ends_escaped:
            text = text[:-1]
        elif index < last:
            text = _rstrip_unescaped(text)
        if index == 0 or escaped_break:
            out += text
        elif not text and index < last:
            breaks += 1
            escaped_break = ends_escaped
            continue
        else:
            out += ("\n" * breaks if breaks else " ") + text
        breaks, escaped_break = 0, ends_escaped
    return _unescape(out, error)


def _odd_backslashes_before(text: str, end: int) -> bool:
    run = 0
    while end - run - 1 >= 0 and text[end - run - 1] == "\\":
        run += 1
    return run % 2 == 1


def _rstrip_unescaped(text: str) -> str:
    stripped = text.rstrip(" \t")
    if len(stripped) < len(text) and _odd_backslashes_before(stripped, len(stripped)):
        return stripped + text[len(stripped)]     # `\\ ` or `\\<tab>`: an escaped character
    return stripped


def _unescape(raw: str, error: Any) -> str:
    out, i = [], 0
    while i < len(raw):
        ch = raw[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        code = raw[i + 1:i + 2]
        if code in _ESCAPES:
            out.append(_ESCAPES[code])
            i += 2
        elif code in _HEX_ESCAPES:
            digits = raw[i + 2:i + 2 + _HEX_ESCAPES[code]]
            if len(digits) != _HEX_ESCAPES[code] or not all(c in "0123456789abcdefABCDEF" for c in digits):
                raise error(f"bad escape '\\{code}{digits}'")
            value = int(digits, 16)
            if value > 0x10FFFF:
                raise error(f"escape '\\{code}{digits}' is not a character")
            out.append(chr(value))
            i += 2 + len(digits)
        else:
            raise error(f"unknown escape '\\{code}'")
    return "".join(out)


def _split_commas(text: str, error: Any) -> list[str]:
    items, current, quote = [], "", None
    for ch in text:
        if quote:
            current += ch
            if ch == quote:
                quote = None
        elif ch in ("'", '"'):
            quote = ch
            current += ch
        elif ch == ",":
            items.append(current)
            current = ""
        else:
            current += ch
    if quote:
        raise error("a quoted scalar is not closed")
    return [*items, current]
