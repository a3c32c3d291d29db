"""Text -> index terms, the same for documents and queries: lowercase, split into words
(classic.text.word_tokenize), keep runs of letters and digits, drop English stop words (the Glasgow list of
classic.text), and Porter-stem the rest (classic.porter). "Experimental investigations of wings." ->
["experiment", "investig", "wing"].
"""

from __future__ import annotations

from functools import lru_cache

from nanozoo.classic.porter import stem
from nanozoo.classic.text import ENGLISH_STOP_WORDS, word_tokenize

_stem = lru_cache(maxsize=1 << 18)(stem)  # a corpus repeats its words: stem each distinct one once


def analyze(text: str, stop_words: frozenset[str] = ENGLISH_STOP_WORDS, stemming: bool = True) -> list[str]:
    """The index terms of `text`, in order (repeats kept: BM25 counts them)."""
    words = [w for w in word_tokenize(text.lower()) if w.isalnum() and w not in stop_words]
    return [_stem(w) for w in words] if stemming else words
