"""Make attacker-written text (usernames, user agents, mail subjects, paths) safe to display.

Terminal: control characters (ANSI escape sequences, carriage returns, bells, bidi overrides)
are replaced so a crafted user agent cannot rewrite the analyst's screen, and Rich markup is
escaped so ``[red]`` in a username stays literal. HTML escaping is Jinja2's autoescape.
"""

from __future__ import annotations

import unicodedata

from rich.markup import escape as _rich_escape

_BIDI = {"\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069"}


def printable(value: object, limit: int = 200) -> str:
    """Text with every control/format character shown as U+FFFD, cut to ``limit`` characters."""
    text = "" if value is None else str(value)
    out = []
    for ch in text[: limit + 1]:
        if ch in _BIDI or unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp"):
            out.append("\N{REPLACEMENT CHARACTER}")
        else:
            out.append(ch)
    result = "".join(out)
    if len(result) > limit:
        result = result[: limit - 1] + "\N{HORIZONTAL ELLIPSIS}"
    return result


# C0 and C1 control characters but tab, line feed and carriage return -> U+FFFD (for HTML text)
_HTML_CONTROLS = {
    c: "\N{REPLACEMENT CHARACTER}" for c in (*range(0x20), *range(0x7F, 0xA0)) if c not in (9, 10, 13)
}


def visible(value: object) -> object:
    """A value the HTML report renders, with control characters (ESC, NUL, ...) shown as U+FFFD;
    markup stays markup, numbers stay numbers. Jinja2's ``finalize`` applies it to every output."""
    if isinstance(value, str):
        cleaned = value.translate(_HTML_CONTROLS)
        return type(value)(cleaned) if type(value) is not str else cleaned
    return value


def term(value: object, limit: int = 200) -> str:
    """Safe for a Rich console: control characters neutralised and markup escaped."""
    return _rich_escape(printable(value, limit))
