"""Hypothesis strategies that break good inputs a little: the malformed inputs a fuzz is made of.

A mutation of a well-formed input goes further into a reader than random bytes do (a random file
fails on its first byte; a valid cassette with a stray ``:`` or a repeated run of 40 bytes gets as
far as the model, the decoder or the framing).
"""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import strategies as st

#: Bytes that mean something to one of the grammars read (HTTP, YAML, JSON, chunked framing).
PIECES = [
    b"\r\n",
    b"\n",
    b"\r",
    b" ",
    b":",
    b";",
    b"\x00",
    b"-",
    b"0",
    b"f",
    b"\xff",
    b"{",
    b"[",
    b'"',
    b"&a",
    b"*a",
]


@st.composite
def mutated(draw: st.DrawFn, templates: Sequence[bytes], most: int = 6) -> bytes:
    """One of ``templates`` with 1 to ``most`` edits: an insertion, a deletion, a replacement, or a
    run of up to 40 bytes repeated up to 50 times."""
    data = bytearray(draw(st.sampled_from(list(templates))))
    for _ in range(draw(st.integers(1, most))):
        at = draw(st.integers(0, len(data)))
        edit = draw(st.sampled_from(["insert", "delete", "replace", "repeat"]))
        piece = draw(st.sampled_from(PIECES) | st.binary(min_size=1, max_size=4))
        if edit == "insert":
            data[at:at] = piece
        elif edit == "delete":
            del data[at : at + len(piece)]
        elif edit == "replace":
            data[at : at + len(piece)] = piece
        else:
            data[at:at] = data[at : at + 40] * draw(st.integers(1, 50))
    return bytes(data)
