"""WordPiece: BERT's tokenizer (basic tokenization, then greedy longest-match subwords), and its trainer.

Devlin et al. 2019 (BERT) with the WordPiece model of Schuster & Nakajima 2012 / Wu et al. 2016 (GNMT).
1. Basic tokenization (`BertNormalizer` + `BertPreTokenizer` in HF `tokenizers`): drop NUL, U+FFFD and
   control characters, map whitespace to " ", put spaces around CJK ideographs, lowercase, strip accents
   (NFD, drop combining marks), split on whitespace and on every punctuation character.
2. WordPiece: each word becomes the longest vocabulary prefix, then the longest "##"-prefixed piece of the
   rest, and so on; a word with an unmatched rest, or longer than `max_input_chars_per_word`, is [UNK].
3. Training (HF course "WordPiece tokenization"): start from the characters (inner ones as "##c"), and
   merge the pair with the highest score count(ab) / (count(a) count(b)); ties go to the smallest pair.
   `score="frequency"` merges the most frequent pair instead (count(ab), BPE's rule, which HF tokenizers'
   `WordPieceTrainer` runs): on a small corpus the likelihood score spends the vocabulary on rare
   cohesive words first (NOTE: 8,192 pieces learnt from Penn Treebank's 10k word types leave "and" as
   a ##n ##d, 2.5 pieces a word of ptb.valid.txt; frequency merges give 1.06).
Reference: google-research/bert `tokenization.py`, HF `tokenizers` (bert normalizer / pre-tokenizer).
The trainer counts pairs over the distinct words once and updates them incrementally, with a heap of
scores, like the BPE trainer of `train.py`.
"""

from __future__ import annotations

import heapq
import unicodedata
from collections import Counter
from itertools import pairwise
from pathlib import Path
from typing import Literal

from nanozoo.core.atomic import atomic_write
from nanozoo.tokenizers.base import TokenizerError, read_text

SPECIALS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


# ---------------------------------------------------------------------------------------------------
# 1. Basic tokenization


def _is_control(ch: str) -> bool:
    # HF tokenizers' is_other(): control, format, private use, surrogate; but \t \n \r are whitespace
    return ch not in "\t\n\r" and unicodedata.category(ch) in ("Cc", "Cf", "Co", "Cs")


def _is_whitespace(ch: str) -> bool:
    return ch in " \t\n\r" or unicodedata.category(ch) == "Zs"


def _is_punctuation(ch: str) -> bool:
    # ASCII symbols such as $ + ^ ` count as punctuation too, as in BERT
    cp = ord(ch)
    return (
        33 <= cp <= 47
        or 58 <= cp <= 64
        or 91 <= cp <= 96
        or 123 <= cp <= 126
        or (unicodedata.category(ch).startswith("P"))
    )


def _is_cjk(cp: int) -> bool:
    # subtle: HF tokenizers starts the 7th block at 0x2B920 where BERT has 0x2B820; we follow HF (parity)
    return (
        0x4E00 <= cp <= 0x9FFF
        or 0x3400 <= cp <= 0x4DBF
        or 0x20000 <= cp <= 0x2A6DF
        or 0x2A700 <= cp <= 0x2B73F
        or 0x2B740 <= cp <= 0x2B81F
        or 0x2B920 <= cp <= 0x2CEAF
        or 0xF900 <= cp <= 0xFAFF
        or 0x2F800 <= cp <= 0x2FA1F
    )


def normalize(text: str, lowercase: bool = True, strip_accents: bool | None = None, cjk: bool = True) -> str:
    """BERT's normalizer: clean, space out CJK, strip accents (default: when lowercasing), lowercase."""
    out = []
    for ch in text:
        cp = ord(ch)
        if cp == 0 or cp == 0xFFFD or _is_control(ch):
            continue
        if _is_whitespace(ch):
            out.append(" ")
        elif cjk and _is_cjk(cp):
            out += (" ", ch, " ")
        else:
            out.append(ch)
    text = "".join(out)
    if strip_accents or (strip_accents is None and lowercase):
        text = "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")
    return text.lower() if lowercase else text


def pre_tokenize(text: str) -> list[str]:
    """Split on whitespace, and make every punctuation character a word of its own."""
    words = []
    for w in text.split():
        start = 0
        for i, ch in enumerate(w):
            if _is_punctuation(ch):
                if i > start:
                    words.append(w[start:i])
                words.append(ch)
                start = i + 1
        if start < len(w):
            words.append(w[start:])
    return words


# ---------------------------------------------------------------------------------------------------
# 2. The WordPiece tokenizer


class WordPieceTokenizer:
    """BERT's tokenizer from a `vocab.txt` (one token a line, the line number is the id)."""

    def __init__(
        self,
        vocab: dict[str, int] | list[str],
        lowercase: bool = True,
        strip_accents: bool | None = None,
        unk_token: str = "[UNK]",
        max_input_chars_per_word: int = 100,
        prefix: str = "##",
    ) -> None:
        self.vocab = {t: i for i, t in enumerate(vocab)} if isinstance(vocab, list) else dict(vocab)
        if unk_token not in self.vocab:
            raise TokenizerError(f"unk_token {unk_token!r} is not in the vocabulary")
        self.inverse = {i: t for t, i in self.vocab.items()}
        self.lowercase, self.strip_accents = lowercase, strip_accents
        self.unk_token, self.max_chars, self.prefix = unk_token, max_input_chars_per_word, prefix
        self.special_tokens = [t for t in SPECIALS if t in self.vocab]
        self._cache: dict[str, list[str]] = {}

    @classmethod
    def from_file(cls, path: str | Path, **kwargs) -> WordPieceTokenizer:
        """A `vocab.txt`: one token a line, the line number is the id; it must hold the unk_token."""
        lines = read_text(path, "a WordPiece vocab.txt").split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        vocab = [line.rstrip("\r") for line in lines]
        unk = kwargs.get("unk_token", "[UNK]")
        if unk not in vocab:
            raise TokenizerError(
                f"{path} is not a WordPiece vocab.txt: no line is the unk_token {unk!r} "
                f"(a vocab.txt holds one token a line, {' '.join(SPECIALS)} among them)"
            )
        return cls(vocab, **kwargs)

    def save(self, path: str | Path) -> Path:
        """Write `vocab.txt` atomically (ids must be 0..V-1 with no gap, as BERT's format requires)."""
        path = Path(path)
        tokens = [self.inverse[i] for i in range(len(self.inverse))]
        atomic_write(path, ("\n".join(tokens) + "\n").encode("utf-8"))
        return path

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def word_pieces(self, word: str) -> list[str]:
        """Greedy longest-match-first: "unaffable" -> ["un", "##aff", "##able"]."""
        if len(word) > self.max_chars:
            return [self.unk_token]
        pieces, start, vocab = [], 0, self.vocab
        ### BEGIN SOLUTION
        while start < len(word):
            end = len(word)
            while end > start:
                piece = word[start:end] if start == 0 else self.prefix + word[start:end]
                if piece in vocab:
                    break
                end -= 1
            if end == start:
                return [self.unk_token]  # no piece matches: the whole word is unknown
            pieces.append(piece)
            start = end
        ### END SOLUTION
        return pieces

    def tokenize(self, text: str) -> list[str]:
        """Text -> WordPiece strings; the special tokens ([CLS], [SEP]...) in the text are kept whole."""
        out: list[str] = []
        for part in _split_specials(text, self.special_tokens):
            if part in self.special_tokens:
                out.append(part)
                continue
            for w in pre_tokenize(normalize(part, self.lowercase, self.strip_accents)):
                pieces = self._cache.get(w)
                if pieces is None:
                    pieces = self._cache[w] = self.word_pieces(w)
                out += pieces
        return out

    def encode(self, text: str, add_special_tokens: bool = True) -> list[int]:
        """Ids, framed by [CLS] ... [SEP] as BERT expects unless `add_special_tokens=False`."""
        ids = [self.vocab[t] for t in self.tokenize(text)]
        if add_special_tokens:
            ids = [self.vocab["[CLS]"], *ids, self.vocab["[SEP]"]]
        return ids

    def decode(self, ids, skip_special_tokens: bool = True) -> str:
        """Join the pieces: "##" pieces glue to the previous one, words are separated by spaces."""
        out = []
        for i in ids:
            if i not in self.inverse:
                raise TokenizerError(f"token id {i} is not in the vocabulary (size {len(self.inverse)})")
            t = self.inverse[i]
            if skip_special_tokens and t in self.special_tokens:
                continue
            if t.startswith(self.prefix) and out:
                out[-1] += t[len(self.prefix) :]
            else:
                out.append(t)
        return " ".join(out)


def _split_specials(text: str, specials: list[str]) -> list[str]:
    """Cut `text` around exact occurrences of the special tokens (matched before normalization)."""
    parts = [text]
    for s in specials:
        parts = [q for p in parts for q in (_cut(p, s) if p not in specials else [p])]
    return parts


def _cut(text: str, s: str) -> list[str]:
    pieces = text.split(s)
    out = [pieces[0]]
    for p in pieces[1:]:
        out += [s, p]
    return [p for p in out if p]


# ---------------------------------------------------------------------------------------------------
# 3. The WordPiece trainer


def train_wordpiece(
    text: str,
    vocab_size: int,
    lowercase: bool = True,
    prefix: str = "##",
    score: Literal["likelihood", "frequency"] = "likelihood",
    alphabet: str = "",
    **kwargs,
) -> WordPieceTokenizer:
    """Learn a WordPiece vocabulary of at most `vocab_size` tokens from `text` (specials come first).

    `alphabet`: characters kept in the vocabulary even where `text` lacks them (HF's `initial_alphabet`),
    word-initial and as "##" continuations (punctuation is always a word of its own: only the first)."""
    if score not in ("likelihood", "frequency"):
        raise TokenizerError(f"score={score!r}; expected 'likelihood' or 'frequency'")
    words = Counter(pre_tokenize(normalize(text, lowercase)))
    splits = [[w[0]] + [prefix + c for c in w[1:]] for w in words]
    extra = {c for c in normalize(alphabet, lowercase) if not _is_whitespace(c)}
    extra |= {prefix + c for c in extra if not _is_punctuation(c)}
    vocab = list(SPECIALS) + sorted({p for s in splits for p in s} | extra)
    if vocab_size < len(vocab):
        raise TokenizerError(
            f"vocab_size={vocab_size} is smaller than the special tokens and alphabet ({len(vocab)})"
        )
    stats = _PairScores(splits, list(words.values()), score)
    known = set(vocab)
    while len(vocab) < vocab_size:
        pair = stats.pop_best()
        if pair is None:
            break
        a, b = pair
        new = a + b[len(prefix) :] if b.startswith(prefix) else a + b
        stats.merge(pair, new)
        if new not in known:  # "a" + "##b" may spell a token that is already there
            known.add(new)
            vocab.append(new)
    return WordPieceTokenizer(vocab, lowercase=lowercase, prefix=prefix, **kwargs)


class _PairScores:
    """Pair and piece counts over the distinct words, kept up to date merge after merge, and a max-heap of
    scores count(ab) / (count(a) count(b)) with lazy invalidation, as in `train.py` (subtle: a score also
    goes up when count(a) or count(b) goes down, so every pair holding a merged piece is pushed again)."""

    def __init__(self, splits: list[list[str]], counts: list[int], score: str = "likelihood") -> None:
        self.splits, self.counts, self.frequency = splits, counts, score == "frequency"
        self.pair_n: dict[tuple[str, str], int] = {}
        self.piece_n: dict[str, int] = {}
        self.where: dict[tuple[str, str], set[int]] = {}  # pair -> words that hold it
        self.by_piece: dict[str, set[tuple[str, str]]] = {}  # piece -> pairs that hold it
        for i, (s, c) in enumerate(zip(splits, counts, strict=True)):
            self._add(i, s, c)
        self.heap = [(-self._score(p), p) for p in self.pair_n]
        heapq.heapify(self.heap)

    def _score(self, p: tuple[str, str]) -> float:
        if self.frequency:
            return self.pair_n[p]
        return self.pair_n[p] / (self.piece_n[p[0]] * self.piece_n[p[1]])

    def _add(self, i: int, s: list[str], c: int, sign: int = 1) -> None:
        for p in s:
            self.piece_n[p] = self.piece_n.get(p, 0) + sign * c
        for q in pairwise(s):
            self.pair_n[q] = self.pair_n.get(q, 0) + sign * c
            if sign > 0:
                self.where.setdefault(q, set()).add(i)
                self.by_piece.setdefault(q[0], set()).add(q)
                self.by_piece.setdefault(q[1], set()).add(q)

    def pop_best(self) -> tuple[str, str] | None:
        """Highest score; ties go to the smallest pair (the heap's order on `(-score, pair)`)."""
        while self.heap:
            neg, p = heapq.heappop(self.heap)
            if self.pair_n.get(p, 0) <= 0:
                continue
            score = self._score(p)
            if score == -neg:
                return p
            if score < -neg:  # stale, too high: push it back with the current score
                heapq.heappush(self.heap, (-score, p))
        return None

    def merge(self, pair: tuple[str, str], new: str) -> None:
        a, b = pair
        for i in self.where.pop(pair, ()):
            s = self.splits[i]
            out = _merge_pieces(s, a, b, new)
            if len(out) < len(s):
                self._add(i, s, self.counts[i], sign=-1)
                self._add(i, out, self.counts[i])
                self.splits[i] = out
        # scores that went up: pairs with the new piece, and pairs with a or b (their counts went down)
        for q in self.by_piece.get(new, set()) | self.by_piece.get(a, set()) | self.by_piece.get(b, set()):
            if self.pair_n.get(q, 0) > 0:
                heapq.heappush(self.heap, (-self._score(q), q))


def _merge_pieces(s: list[str], a: str, b: str, new: str) -> list[str]:
    out, i = [], 0
    while i < len(s):
        if i < len(s) - 1 and s[i] == a and s[i + 1] == b:
            out.append(new)
            i += 2
        else:
            out.append(s[i])
            i += 1
    return out
