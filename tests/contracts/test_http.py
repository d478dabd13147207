"""contracts.http: the quick URL reading that hot paths use instead of urlsplit."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from contracts.http import plain_url_parts

# URLs shaped like recorded ones, with the characters that make urlsplit's reading subtle
_URLS = st.tuples(
    st.sampled_from(["", "http://", "https://", "HTTP://", "x1://", "é://", "//", " "]),
    st.text(alphabet="ab:@[]?#.1/", max_size=8),
    st.text(alphabet="/ab%?#=&\t é\n", max_size=24),
).map("".join)


@given(_URLS)
def test_the_quick_path_reading_agrees_with_urlsplit(url: str) -> None:
    quick = plain_url_parts(url)
    assume(quick is not None)  # None: urlsplit decides
    parts = urlsplit(url)
    assert quick == (parts.path or "/", parts.query)


@pytest.mark.parametrize(
    ("url", "path"),
    [("/v2/customer_sessions/a%2Fb?dry=true", "/v2/customer_sessions/a%2Fb"),
     ("https://x.talon.one/v2/events#top", "/v2/events"), ("http://h:9/?q", "/")],
)  # fmt: skip
def test_plain_recorded_urls_take_the_quick_path(url: str, path: str) -> None:
    quick = plain_url_parts(url)
    assert quick is not None and quick[0] == path


def test_urls_beyond_ascii_are_left_to_urlsplit() -> None:
    """urlsplit refuses some non-ASCII hosts (a fullwidth "#" normalises to a delimiter)."""
    assert plain_url_parts("http://a\uff03b/p") is None and plain_url_parts("/caf\u00e9") is None
