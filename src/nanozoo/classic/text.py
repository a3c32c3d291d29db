"""Text preprocessing from scratch: word tokens, English stop words, and TF-IDF features.

- `word_tokenize`: maximal runs of word characters (letters, digits, underscore) and maximal runs of
  punctuation, whitespace dropped; equal to NLTK's `wordpunct_tokenize` (the regex `\\w+|[^\\w\\s]+`).
- `ENGLISH_STOP_WORDS`: the stop list of the Glasgow Information Retrieval Group, the one scikit-learn
  ships under the same name (equal to it in the tests).
- `TfidfVectorizer`: raw term counts, optionally sublinear (1 + ln tf), times the inverse document
  frequency (smooth or not), rows L2- (or L1-) normalised; the matrix equals scikit-learn's
  `TfidfVectorizer` with the same options and tokenizer within 1e-9, the vocabulary in the same (sorted)
  order. Reference: Salton & Buckley, "Term-weighting approaches in automatic text retrieval" (1988);
  the smooth idf is scikit-learn's: idf(t) = ln((1 + N) / (1 + df(t))) + 1, as if one extra document
  held every term once, so no term has a zero df.
The Porter stemmer is in classic/porter.py; pass `tokenizer=lambda s: [stem(w) for w in word_tokenize(s)]`
to stem before counting.
"""

from __future__ import annotations

import logging
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable

import numpy as np
import scipy.sparse as sp

log = logging.getLogger(__name__)

# ---------------------------------------------------------------------------------------------------
# Tokens and stop words


# NLTK's `wordpunct_tokenize` matches with the `regex` module, where \w is Unicode's Alphabetic, Mark,
# Decimal_Number, Connector_Punctuation and Join_Control, and \s is White_Space; the stdlib `re` differs
# (its \w takes "²" and "½" as word characters, and \s takes the separators U+001C..U+001F).
WORD_CATEGORIES = frozenset({"Lu", "Ll", "Lt", "Lm", "Lo", "Nl", "Mn", "Mc", "Me", "Nd", "Pc"})
WORD_SYMBOLS = ((0x24B6, 0x24E9), (0x1F130, 0x1F149), (0x1F150, 0x1F169), (0x1F170, 0x1F189))  # Ⓐ, 🄰: So
WHITE_SPACE = frozenset("\t\n\v\f\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000") | {
    chr(i) for i in range(0x2000, 0x200B)
}


def _kind(ch: str) -> str:
    """The class of one character: "w" word, "s" white space, "p" the rest (punctuation, symbols, ...)."""
    if ch in WHITE_SPACE:
        return "s"
    if ch.isascii():  # fast path: ASCII \w is [A-Za-z0-9_]
        return "w" if ch.isalnum() or ch == "_" else "p"
    if unicodedata.category(ch) in WORD_CATEGORIES or ch in "\u200c\u200d":  # ... or Join_Control
        return "w"
    return "w" if any(lo <= ord(ch) <= hi for lo, hi in WORD_SYMBOLS) else "p"


def word_tokenize(text: str) -> list[str]:
    """Split into runs of word characters and runs of punctuation: "can't stop!" -> can ' t stop !"""
    tokens, start, prev = [], 0, "s"
    for i, ch in enumerate(text):
        kind = _kind(ch)
        if kind != prev:  # a run ends where the kind of character changes
            if prev != "s":
                tokens.append(text[start:i])
            start, prev = i, kind
    if prev != "s":
        tokens.append(text[start:])
    return tokens


ENGLISH_STOP_WORDS = frozenset(
    """
a about above across after afterwards again against all almost alone along already also although
always am among amongst amoungst amount an and another any anyhow anyone anything anyway anywhere
are around as at back be became because become becomes becoming been before beforehand behind being
below beside besides between beyond bill both bottom but by call can cannot cant co con could
couldnt cry de describe detail do done down due during each eg eight either eleven else elsewhere
empty enough etc even ever every everyone everything everywhere except few fifteen fifty fill find
fire first five for former formerly forty found four from front full further get give go had has
hasnt have he hence her here hereafter hereby herein hereupon hers herself him himself his how
however hundred i ie if in inc indeed interest into is it its itself keep last latter latterly least
less ltd made many may me meanwhile might mill mine more moreover most mostly move much must my
myself name namely neither never nevertheless next nine no nobody none noone nor not nothing now
nowhere of off often on once one only onto or other others otherwise our ours ourselves out over own
part per perhaps please put rather re same see seem seemed seeming seems serious several she should
show side since sincere six sixty so some somehow someone something sometime sometimes somewhere
still such system take ten than that the their them themselves then thence there thereafter thereby
therefore therein thereupon these they thick thin third this those though three through throughout
thru thus to together too top toward towards twelve twenty two un under until up upon us very via
was we well were what whatever when whence whenever where whereafter whereas whereby wherein
whereupon wherever whether which while whither who whoever whole whom whose why will with within
without would yet you your yours yourself yourselves
""".split()
)  # sic: "amoungst" and "cant" are in the original list


def remove_stop_words(tokens: Iterable[str], stop_words: frozenset[str] = ENGLISH_STOP_WORDS) -> list[str]:
    return [t for t in tokens if t not in stop_words]


# ---------------------------------------------------------------------------------------------------
# TF-IDF


class TfidfVectorizer:
    """Documents -> a sparse (N, V) matrix of tf-idf weights; `vocabulary_` maps each term to its column."""

    def __init__(
        self,
        tokenizer: Callable[[str], list[str]] = word_tokenize,
        lowercase: bool = True,
        stop_words: frozenset[str] | None = None,
        norm: str | None = "l2",
        use_idf: bool = True,
        smooth_idf: bool = True,
        sublinear_tf: bool = False,
    ):
        if norm not in ("l1", "l2", None):
            raise ValueError(f"norm={norm!r}; allowed: 'l1', 'l2' or None")
        self.tokenizer, self.lowercase, self.stop_words = tokenizer, lowercase, stop_words
        self.norm, self.use_idf, self.smooth_idf, self.sublinear_tf = norm, use_idf, smooth_idf, sublinear_tf
        self.vocabulary_: dict[str, int] | None = None
        self.idf_: np.ndarray | None = None

    def terms(self, doc: str) -> list[str]:
        if not isinstance(doc, str):
            raise TypeError(f"a document must be a str, got {type(doc).__name__}: {doc!r:.60}")
        tokens = self.tokenizer(doc.lower() if self.lowercase else doc)
        return remove_stop_words(tokens, self.stop_words) if self.stop_words else tokens

    def counts(self, docs: Iterable[str]) -> sp.csr_matrix:
        """Raw term counts (N, V) over the fitted vocabulary; terms outside it are dropped."""
        if self.vocabulary_ is None:
            raise ValueError("this TfidfVectorizer is not fitted yet: call fit(docs) first")
        rows, cols, vals, n_docs = [], [], [], 0
        for n, doc in enumerate(docs):
            c = Counter(t for t in self.terms(doc) if t in self.vocabulary_)
            rows += [n] * len(c)
            cols += [self.vocabulary_[t] for t in c]
            vals += list(c.values())
            n_docs = n + 1
        shape = (n_docs, len(self.vocabulary_))
        return sp.csr_matrix((np.array(vals, np.float64), (rows, cols)), shape=shape)

    def fit(self, docs: Iterable[str]) -> TfidfVectorizer:
        docs = list(docs)
        if not docs:
            raise ValueError("fit needs at least one document")
        terms = sorted({t for doc in docs for t in self.terms(doc)})
        if not terms:
            raise ValueError("the documents hold no terms (after tokenizing and stop words)")
        self.vocabulary_ = {t: j for j, t in enumerate(terms)}
        N, df = len(docs), np.bincount(self.counts(docs).indices, minlength=len(terms))  # (V,) docs per term
        ### BEGIN SOLUTION
        if self.smooth_idf:
            self.idf_ = np.log((1 + N) / (1 + df)) + 1.0  # one extra document holding every term once
        else:
            self.idf_ = np.log(N / df) + 1.0  # the + 1 keeps a term found in every document
        ### END SOLUTION
        log.debug("tf-idf: %d documents, %d terms", N, len(terms))
        return self

    def transform(self, docs: Iterable[str]) -> sp.csr_matrix:
        X = self.counts(docs)  # (N, V)
        ### BEGIN SOLUTION
        if self.sublinear_tf:
            X.data = 1.0 + np.log(X.data)  # only stored entries: a count of 0 stays 0
        if self.use_idf:
            X = X @ sp.diags(self.idf_)  # (N, V) column j scaled by idf_j
        if self.norm:
            row = np.sqrt(X.multiply(X).sum(axis=1)) if self.norm == "l2" else abs(X).sum(axis=1)  # (N, 1)
            row = np.asarray(row).ravel()
            X = sp.diags(1.0 / np.where(row == 0, 1.0, row)) @ X  # an empty row stays empty
        ### END SOLUTION
        return sp.csr_matrix(X)

    def fit_transform(self, docs: Iterable[str]) -> sp.csr_matrix:
        docs = list(docs)
        return self.fit(docs).transform(docs)
