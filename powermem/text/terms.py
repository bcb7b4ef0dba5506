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
    """The first ``MAX_TERMS`` distinct terms, in order; the scan stops once it has them."""
    terms: dict[str, None] = {}
    for match in _WORD.finditer(text.casefold()):  # casefold first: it can split a word ("İ" -> "i̇")
        token = match.group().strip("_")
        if len(token) > 1 and token not in TERM_STOPWORDS:
            terms[token] = None
            if len(terms) == MAX_TERMS:
                break
    return list(terms)
