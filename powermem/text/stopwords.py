"""Word lists: what never counts as a search term, and what never counts as a name."""

from __future__ import annotations

# English function words: too common to carry meaning as a full-text search term.
TERM_STOPWORDS = frozenset(
    [
        "a", "about", "above", "after", "again", "against", "all", "am", "an", "and", "any", "are", "as", "at",
        "be", "because", "been", "before", "being", "below", "between", "both", "but", "by", "can", "could",
        "did", "do", "does", "doing", "down", "during", "each", "few", "for", "from", "further", "had", "has",
        "have", "having", "he", "her", "here", "hers", "herself", "him", "himself", "his", "how", "i", "if",
        "in", "into", "is", "it", "its", "itself", "just", "me", "more", "most", "my", "myself", "no", "nor",
        "not", "now", "of", "off", "on", "once", "only", "or", "other", "our", "ours", "ourselves", "out",
        "over", "own", "same", "she", "should", "so", "some", "such", "than", "that", "the", "their", "theirs",
        "them", "themselves", "then", "there", "these", "they", "this", "those", "through", "to", "too",
        "under", "until", "up", "very", "was", "we", "were", "what", "when", "where", "which", "while", "who",
        "whom", "why", "will", "with", "would", "you", "your", "yours", "yourself", "yourselves", "s", "t", "d",
        "ll", "m", "re", "ve"
    ]
)

# Conversation words that are capitalised at the start of a sentence but are never a name.
NAME_STOPWORDS = frozenset(
    [
        "a", "an", "the", "i", "i'm", "i've", "i'd", "i'll", "me", "my", "mine", "we", "our", "us", "you",
        "your", "he", "him", "his", "she", "her", "it", "its", "they", "them", "their", "this", "that", "these",
        "those", "there", "here", "what", "when", "where", "which", "who", "whom", "whose", "why", "how", "yes",
        "no", "not", "and", "or", "but", "so", "if", "then", "than", "also", "just", "oh", "ok", "okay", "hey",
        "hi", "hello", "thanks", "thank", "wow", "well", "sure", "yeah", "yep", "nope", "please", "is", "are",
        "was", "were", "be", "been", "being", "am", "do", "does", "did", "have", "has", "had", "will", "would",
        "can", "could", "should", "may", "might", "must", "let", "let's", "lol", "haha", "omg", "btw", "anyway",
        "really", "great", "good", "nice", "cool", "awesome", "sorry", "today", "yesterday", "tomorrow",
        "tonight", "maybe", "actually", "definitely", "sounds", "glad", "love", "wish", "hope", "guess", "went",
        "got", "made", "had", "saw", "see", "look", "looking", "thinking", "think", "sure", "totally",
        "absolutely", "exactly", "wait"
    ]
)
