"""Text from recordings made safe to show: on a terminal, in XML, in a report."""

from __future__ import annotations

import re

__all__ = ["one_line", "printable"]

# Characters XML 1.0 cannot carry at all (even escaped) and terminals would execute: shown as \xNN.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


def printable(text: str) -> str:
    """``text`` with control characters (escape sequences from a capture ...) made visible, not active."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def one_line(text: str) -> str:
    """:func:`printable`, with line breaks and tabs shown too: for what must stay on one line."""
    return printable(text).replace("\r", "\\r").replace("\n", "\\n").replace("\t", "\\t")
