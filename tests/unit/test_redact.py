"""URL credentials are masked for messages; SecretStr values are unwrapped only on request."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from powermem.redact import has_userinfo, redact_url, reveal


@pytest.mark.parametrize(("url", "shown"), [
    ("bolt://neo4j:pw@db.example:7687", "bolt://***@db.example:7687"),
    ("https://user@proxy.example/v1?q=a@b#x@y", "https://***@proxy.example/v1?q=a@b#x@y"),
    ("https://u:p@ss@proxy.example/v1", "https://***@proxy.example/v1"),  # the last @ ends the userinfo
    ("neo4j:pw@db.example:7687", "***@db.example:7687"),  # no scheme: it starts with the authority
    ("bolt://db.example:7687", "bolt://db.example:7687"),
    ("http://h/path@not-userinfo", "http://h/path@not-userinfo"),
    ("", ""),
])
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown
    assert has_userinfo(url) is (shown != url)


def test_reveal() -> None:
    assert reveal(SecretStr("s3cret")) == "s3cret"
    assert reveal(None) is None
