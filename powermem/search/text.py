"""Query text -> plain search terms, the same for both stores' full-text engines.

Terms are lower-case word tokens; the stores quote them, so FTS5 or Lucene syntax in a query
(``AND OR NOT ( ) " * ~ : \\ /``) is searched for as text, never interpreted.
"""

from __future__ import annotations

import re

_WORD = re.compile(r"\w+", re.UNICODE)
MAX_TERMS = 32
STOPWORDS = frozenset(
    ["a", "about", "above", "after", "again", "against", "all", "am", "an", "and", "any", "are", "as", "at", "be", "because", "been", "before", "being", "below", "between", "both", "but", "by", "can", "could", "did", "do", "does", "doing", "down", "during", "each", "few", "for", "from", "further", "had", "has", "have", "having", "he", "her", "here", "hers", "herself", "him", "himself", "his", "how", "i", "if", "in", "into", "is", "it", "its", "itself", "just", "me", "more", "most", "my", "myself", "no", "nor", "not", "now", "of", "off", "on", "once", "only", "or", "other", "our", "ours", "ourselves", "out", "over", "own", "same", "she", "should", "so", "some", "such", "than", "that", "the", "their", "theirs", "them", "themselves", "then", "there", "these", "they", "this", "those", "through", "to", "too", "under", "until", "up", "very", "was", "we", "were", "what", "when", "where", "which", "while", "who", "whom", "why", "will", "with", "would", "you", "your", "yours", "yourself", "yourselves", "s", "t", "d", "ll", "m", "re", "ve"]
)


def search_terms(text: str) -> list[str]:
    terms: dict[str, None] = {}
    for token in _WORD.findall(text.casefold()):
        token = token.strip("_")
        if len(token) > 1 and token not in STOPWORDS:
            terms[token] = None
    return list(terms)[:MAX_TERMS]
