"""Timestamps: the one parser and the one writer of the sandbox.

The real server reads RFC 3339 leniently (``Z``/``z`` or an offset, ``T``/``t``, any number of
fractional digits) and takes a bare date as 00:00:00 UTC; it writes milliseconds and ``Z``.
``datetime.fromisoformat`` alone is not enough: before Python 3.11 it accepts neither ``Z`` nor
fractions other than 3 or 6 digits.
"""

from __future__ import annotations

import datetime as dt
import re

__all__ = ["iso", "parse_instant", "parse_optional"]

_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:[Zz]|([+-])(\d{2}):(\d{2})))?"
)


def parse_instant(text: str) -> dt.datetime:
    """An aware datetime (UTC when no offset is given) from RFC 3339 or a bare date; ValueError otherwise."""
    found = _RFC3339.fullmatch(text.strip())
    if found is None:
        raise ValueError(f"not an RFC 3339 date-time: {text!r}")
    year, month, day, hour, minute, second, fraction, sign, off_h, off_m = found.groups()
    if hour is None:
        return dt.datetime(int(year), int(month), int(day), tzinfo=dt.timezone.utc)
    zone = dt.timezone.utc
    if sign is not None:
        delta = dt.timedelta(hours=int(off_h), minutes=int(off_m))
        zone = dt.timezone(delta if sign == "+" else -delta)
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    return dt.datetime(
        int(year), int(month), int(day), int(hour), int(minute), int(second), micro, tzinfo=zone
    )


def parse_optional(text: str | None) -> dt.datetime | None:
    return None if text is None else parse_instant(text)


def iso(moment: dt.datetime) -> str:
    """RFC 3339 with milliseconds and ``Z``: what the API's timestamps look like."""
    return moment.astimezone(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
