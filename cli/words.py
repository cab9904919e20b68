"""Splitting a command line into words, the way a POSIX shell quotes, in linear time.

``shlex.split`` grows each token one character at a time (quadratic on a long token:
a 0.6 MB ``raise`` line took 9 s); this scans the line once with one regular expression.
"""

from __future__ import annotations

import re

_PIECE = re.compile(
    r"""
    (?P<space>\s+)
  | '(?P<single>[^']*)'
  | "(?P<double>(?:[^"\\]|\\.)*)"
  | \\(?P<escaped>.)
  | (?P<plain>[^\s'"\\]+)
  | (?P<open>['"\\])
    """,
    re.VERBOSE | re.DOTALL,
)
_DOUBLE_ESCAPE = re.compile(r"\\([\\\"])")


class UnbalancedQuoteError(ValueError):
    """A quote opened and never closed (or a trailing backslash)."""


def split_words(line: str) -> list[str]:
    """Split ``line`` into words: whitespace separates, quotes and backslashes group.

    Args:
        line: One command line.

    Returns:
        The words, with quotes removed (``'a b'`` -> ``a b``, ``"say \\"hi\\""`` -> ``say "hi"``).

    Raises:
        UnbalancedQuoteError: a quote is not closed, or the line ends in a backslash.
    """
    words: list[str] = []
    current: list[str] = []
    in_word = False
    for match in _PIECE.finditer(line):
        kind = match.lastgroup or "space"
        if kind == "space":
            if in_word:
                words.append("".join(current))
                current, in_word = [], False
            continue
        if kind == "open":
            what = (
                "a trailing backslash" if match.group(kind) == "\\" else f"no closing quotation ({match.group(kind)})"
            )
            raise UnbalancedQuoteError(what)
        text = match.group(kind)
        if kind == "double":
            text = _DOUBLE_ESCAPE.sub(r"\1", text)
        current.append(text)
        in_word = True
    if in_word:
        words.append("".join(current))
    return words
