"""`--output text` and `--output table` as the AWS CLI renders them, for the same data.

Text: tab-separated values, one line per record. A mapping's scalar values (keys sorted)
make one line, prefixed with the upper-cased key it sits under; its lists and mappings
follow, each under its key. A list of mappings is one line per mapping over the union of
their scalar keys; a list of scalars is one line (tab-separated), or one line per item under
a key.

Table: a titled, bordered table; a mapping's scalar keys are a header row and its values a
row (a single scalar: a key/value row); each nested list or mapping is a section of its
own, titled with its key and indented. Columns share the width of the widest section.

Written here, not taken from a library: the AWS CLI's own formatter comes with the AWS CLI
(and its pinned botocore), and the general table libraries compared (tabulate,
prettytable, rich) render flat rows, not the AWS CLI's nested sections.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


def _scalar(value: Any) -> bool:
    return not isinstance(value, (Mapping, list))


# -- what reaches a terminal -----------------------------------------------------------------

#: Bidirectional marks, embeddings, overrides and isolates (they reorder what a terminal
#: shows), and the line and paragraph separators.
_BIDI = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u2028\u2029"
)
_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r", "\\": "\\\\"}


def printable(text: str) -> str:
    """`text` with what a terminal would act on escaped: C0 and C1 control characters,
    DEL and bidirectional overrides (``\\x1b``, ``\\u202e``); a tab or newline shows as
    ``\\t`` or ``\\n``, so that a value never starts a field or a record of its own (and a
    backslash as ``\\\\``, so that an escape reads one way)."""
    if text.isprintable() and "\\" not in text:
        return text
    out = []
    for char in text:
        code = ord(char)
        if char in _NAMED:
            out.append(_NAMED[char])
        elif code < 0x20 or 0x7F <= code <= 0x9F:
            out.append(f"\\x{code:02x}")
        elif char in _BIDI:
            out.append(f"\\u{code:04x}")
        else:
            out.append(char)
    return "".join(out)


def escaped(value: Any) -> Any:
    """`value` (JSON-like data) with every string, keys included, made `printable`."""
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, Mapping):
        return {escaped(k): escaped(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [escaped(v) for v in value]
    return value


# -- text ------------------------------------------------------------------------------------


def aws_text(value: Any) -> str:
    """`value` as the AWS CLI's `--output text` prints it (without the final newline)."""
    lines: list[str] = []
    _text(value, lines)
    return "\n".join(lines)


def _text(
    value: Any, lines: list[str], key: str | None = None, columns: list[str] | None = None
) -> None:
    if isinstance(value, Mapping):
        _text_mapping(value, lines, key, columns)
    elif isinstance(value, list):
        _text_list(value, lines, key)
    else:
        lines.append(str(value))


def _text_mapping(
    value: Mapping[str, Any], lines: list[str], key: str | None, columns: list[str] | None
) -> None:
    if columns is None:
        cells = [str(v) for _, v in sorted(value.items()) if _scalar(v)]
        nested = [(k, v) for k, v in sorted(value.items()) if not _scalar(v)]
    else:
        cells = [str(value.get(c, "")) for c in columns]
        nested = [(k, value[k]) for k in sorted(set(value) - set(columns))]
    if cells:
        lines.append("\t".join([key.upper(), *cells] if key is not None else cells))
    for inner_key, inner in nested:
        _text(inner, lines, inner_key)


def _text_list(value: list[Any], lines: list[str], key: str | None) -> None:
    if not value:
        return
    if any(isinstance(v, Mapping) for v in value):
        columns = sorted(
            {k for v in value if isinstance(v, Mapping) for k, i in v.items() if _scalar(i)}
        )
        for item in value:
            _text(item, lines, key, columns)
        return
    scalars = [v for v in value if _scalar(v)]
    if scalars:
        if key is not None:
            lines.extend(f"{key.upper()}\t{v}" for v in scalars)
        else:
            lines.append("\t".join(str(v) for v in scalars))
    for item in value:
        if not _scalar(item):
            _text(item, lines, key)


# -- table -----------------------------------------------------------------------------------


@dataclass
class _Section:
    title: str
    indent: int
    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)

    def widths(self) -> list[int]:
        """The width each column's longest text needs."""
        found: list[int] = []
        for row in ([self.header] if self.header else []) + self.rows:
            for i, cell in enumerate(row):
                if i < len(found):
                    found[i] = max(found[i], _length(cell))
                else:
                    found.append(_length(cell))
        return found

    def total(self) -> int:
        """The width the section needs, its borders and its indentation included."""
        columns = sum(w + 4 for w in self.widths()) + 2
        return max(_length(self.title) + 2, columns) + 2 * self.indent

    def scaled(self, width: int) -> list[int]:
        """Column widths (4 of padding each) scaled to fill `width` exactly."""
        natural = [w + 4 for w in self.widths()]
        if not natural:
            return natural
        scale = width / float(sum(natural))
        widths = [round(scale * w) for w in natural]
        off = sum(widths) - width
        while off:
            for i in range(len(widths)) if off > 0 else reversed(range(len(widths))):
                widths[i] += -1 if off > 0 else 1
                off += -1 if off > 0 else 1
                if not off:
                    break
        return widths


def _length(text: str) -> int:
    """Columns a text takes on a terminal (East Asian wide characters take two)."""

    return sum(2 if unicodedata.east_asian_width(c) in "WFA" else 1 for c in text)


def aws_table(title: str, value: Any, terminal_width: int = 80) -> str:
    """`value` as the AWS CLI's `--output table` prints it, under `title`; sections with one
    row turn into key/value rows when the table is wider than the terminal."""
    sections: list[_Section] = []
    if value in (None, "", [], {}):
        return ""
    _table(title, value, sections, 0)
    width = max(s.total() for s in sections)
    if width > terminal_width:
        sections = [_vertical(s) for s in sections]
        width = max(s.total() for s in sections)
    lines = ["-" * width]
    for section in sections:
        edge = "|" * section.indent
        lines.extend(edge + line + edge for line in _render(section, width - 2 * section.indent))
    return "\n".join(lines)


def _vertical(section: _Section) -> _Section:
    if len(section.rows) != 1 or not section.header:
        return section
    rows = [[h, v] for h, v in zip(section.header, section.rows[0], strict=False)]
    return _Section(section.title, section.indent, rows=rows)


def _cells(row: list[Any]) -> list[str]:
    return [str(v) for v in row]


def _table(title: str | None, value: Any, sections: list[_Section], indent: int) -> None:
    if not value:
        return
    if title is not None:
        sections.append(_Section(title, indent))
    section = sections[-1]
    if isinstance(value, list):
        if isinstance(value[0], Mapping):
            _table_of_mappings(title, value, sections, indent)
            return
        for item in value:
            if _scalar(item):
                section.rows.append(_cells([item]))
            elif all(_scalar(i) for i in item):
                section.rows.append(_cells(list(item)))
            else:
                _table(None, item, sections, 0)
    elif isinstance(value, Mapping):
        header = sorted(k for k, v in value.items() if _scalar(v))
        if len(header) == 1:
            section.rows.append(_cells([header[0], value[header[0]]]))
        elif header:
            section.header = header
            section.rows.append(_cells([value[k] for k in header]))
        for key in sorted(k for k, v in value.items() if not _scalar(v)):
            _table(key, value[key], sections, indent + 1)


def _table_of_mappings(
    title: str | None, value: list[Mapping[str, Any]], sections: list[_Section], indent: int
) -> None:
    header = sorted({k for v in value for k, i in v.items() if _scalar(i)})
    more = sorted({k for v in value for k, i in v.items() if not _scalar(i)})
    sections[-1].header = header
    for number, item in enumerate(value):
        if number and more:
            sections.append(_Section(title or "", indent, header=list(header)))
        sections[-1].rows.append(_cells([item.get(k, "") for k in header]))
        for key in more:
            if key in item:
                _table(key, item[key], sections, indent + 1)


def _centered(text: str, width: int, left: str) -> str:
    start = width // 2 - _length(text) // 2 - 1
    used = len(left) + start + _length(text)
    return left + " " * start + text + " " * (width - 1 - used) + "|"


def _left(text: str, width: int, left: str) -> str:
    pad = 2 if width - (_length(text) + 2 + len(left) + 1) >= 0 else 0
    used = len(left) + pad + _length(text)
    return left + " " * pad + text + " " * (width - used - 1) + "|"


def _rule(widths: list[int]) -> str:
    return "".join(
        f"+{'-' * (w - 2)}+" if i == 0 else f"{'-' * (w - 1)}+" for i, w in enumerate(widths)
    )


def _render(section: _Section, width: int) -> list[str]:
    lines = []
    if section.title:
        lines.append(_centered(section.title, width, "|"))
        if not section.header and not section.rows:
            lines.append(f"+{'-' * (width - 2)}+")
    widths = section.scaled(width)
    if section.header:
        lines.append(_rule(widths))
        lines.append(_line(_centered, section.header, widths))
    if section.rows and widths:
        lines.append(_rule(widths))
        lines.extend(_line(_left, row, widths) for row in section.rows)
        lines.append(_rule(widths))
    return lines


def _line(cell: Any, texts: list[str], widths: list[int]) -> str:
    """One row of cells, the first with the left border."""
    pairs = zip(texts, widths, strict=False)
    return "".join(
        cell(text, width, "|" if i == 0 else "") for i, (text, width) in enumerate(pairs)
    )
