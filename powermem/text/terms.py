"""Query text -> plain search terms, the same for both stores' full-text engines.

Terms are lower-case word tokens; the stores quote them, so FTS5 or Lucene syntax in a query
(``AND OR NOT ( ) " * ~ : \\ /``) is searched for as text, never interpreted.
"""

from __future__ import annotations

import re

from powermem.text.stopwords import TERM_STOPWORDS

_WORD = re.compile(r"\w+", re.UNICODE)
MAX_TERMS = 32


def search_terms(text: str) -> list[str]:
    terms: dict[str, None] = {}
    for token in _WORD.findall(text.casefold()):
        token = token.strip("_")
        if len(token) > 1 and token not in TERM_STOPWORDS:
            terms[token] = None
    return list(terms)[:MAX_TERMS]
