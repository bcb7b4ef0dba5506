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

# Ordinary English words that often start a sentence, capitalised only for that reason. A
# sentence-initial capitalised word outside this list (and NAME_STOPWORDS) is taken as a name
# ("Alice works at Acme"); one inside it counts only if the tenant already knows that name.
SENTENCE_STARTS = frozenset(
    [
        "about", "above", "across", "after", "afterwards", "again", "ago", "all", "almost", "along", "already",
        "although", "always", "another", "any", "anybody", "anyone", "anything", "anyways", "around", "as", "at",
        "because", "before", "behind", "below", "besides", "between", "both", "by", "congrats", "congratulations",
        "despite", "did", "didn't", "don't", "doesn't", "during", "each", "either", "else", "especially", "even",
        "eventually", "ever", "every", "everybody", "everyone", "everything", "first", "finally", "for", "from",
        "funny", "had", "happy", "hmm", "however", "i'm", "in", "indeed", "instead", "into", "isn't", "it's",
        "last", "later", "lately", "like", "many", "meanwhile", "more", "most", "much", "my", "neither", "never",
        "next", "nobody", "none", "nothing", "now", "of", "often", "on", "once", "one", "only", "other", "others",
        "otherwise", "our", "over", "perhaps", "plus", "recently", "right", "same", "second", "since",
        "so", "some", "somebody", "someone", "something", "sometimes", "soon", "still", "such", "that's", "the",
        "there's", "these", "they're", "third", "though", "through", "throughout", "thus", "to", "together",
        "too", "true", "two", "under", "unfortunately", "unless", "until", "up", "usually", "very", "we're",
        "what's", "whatever", "whenever", "wherever", "whether", "while", "with", "within", "without", "won't",
        "yes", "yet", "you're", "amazing", "anyway", "awesome", "beautiful", "best", "big", "cheers", "dear",
        "fantastic", "fine", "fun", "good", "great", "interesting", "lots", "lovely", "new", "old", "sounds",
        "wonderful", "enjoy", "keep", "make", "take", "tell", "try", "go", "come", "get", "give", "check",
        "remember", "note", "thank", "welcome", "call", "ask", "meet", "say", "bye", "goodbye", "morning", "evening", "night", "afternoon",
        "weekend", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "this", "what",
        "family", "home", "work", "school", "life", "music", "art", "kids", "people", "friends", "mom", "dad",
    ]
)

# Chat words that start a sentence: interjections, and common verbs, adjectives and nouns a
# message opens with ("Talk soon", "Pretty cool", "Nature is healing").
CHAT_STARTS = frozenset(
    [
        "ah", "aw", "aww", "awww", "bummer", "cheers", "congrats", "damn", "gee", "gosh", "ha", "hah", "hahaha",
        "hm", "hmmm", "huh", "nah", "nope", "oof", "ooh", "oops", "ouch", "phew", "shh", "ugh", "uh", "um", "whoa",
        "woah", "woo", "woohoo", "wooo", "yay", "yea", "yum", "yup", "gonna", "gotta", "wanna", "appreciate",
        "believe", "bet", "catch", "chat", "cherish", "create", "enjoy", "feel", "find", "gather", "guess",
        "imagine", "know", "learn", "listen", "need", "push", "read", "show", "sleep", "speak", "spill", "stay",
        "stop", "talk", "thanks", "think", "took", "understand", "want", "watch", "write", "hard", "little",
        "long", "lucky", "perfect", "pretty", "strong", "super", "sweet", "brave", "cute", "cozy", "young",
        "impressive", "incredible", "nice", "sad", "true", "care", "change", "life", "love", "man", "nature",
        "time", "way", "stuff", "success", "respect", "family", "food", "health", "travel", "yoga", "sports",
        "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    ]
)

# Endings of verbs and adverbs ("Painting", "Loved", "Honestly") and of plurals and third
# persons ("Books", "Reminds"; not "-ss" or "-us"): a sentence-initial word ending so is kept
# weak; a known name still links, and so does the subject of an offline relation.
COMMON_ENDINGS = ("ing", "ed", "ly")
PLURAL_EXCEPTIONS = ("ss", "us", "is", "os", "as")
