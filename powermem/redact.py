"""Secrets kept out of output: unwrapped only where they are used, masked where they are shown.

Passwords and API keys live in the config as pydantic ``SecretStr`` (``repr``, ``str`` and
JSON dumps show ``**********``); ``reveal`` is called at the one place a value is handed to
a driver or an HTTP client. ``redact_url`` masks ``user:password@`` in a URL for messages.
"""

from __future__ import annotations

from pydantic import SecretStr

__all__ = ["MASK", "has_userinfo", "redact_url", "reveal"]

MASK = "***"


def reveal(secret: SecretStr | None) -> str | None:
    """The secret's value, for the call that needs it (a driver's auth, an HTTP client)."""
    return None if secret is None else secret.get_secret_value()


def _split_authority(url: str) -> tuple[str, str, str]:
    """(``scheme://``, authority, rest) of ``url``; a URL without ``://`` starts with its authority."""
    head, sep, rest = url.partition("://")
    if not sep:
        head, rest = "", url
    end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    return head + sep, rest[:end], rest[end:]


def has_userinfo(url: str) -> bool:
    """Whether ``url`` carries credentials (``user[:password]@host``)."""
    return "@" in _split_authority(url)[1]


def redact_url(url: str) -> str:
    """``url`` with its ``user:password@`` (if any) shown as ``***@``."""
    scheme, authority, rest = _split_authority(url)
    if "@" not in authority:
        return url
    return f"{scheme}{MASK}@{authority.rpartition('@')[2]}{rest}"
