"""RegexTokenizer: split the text with a regex first, then BPE each chunk; special tokens.

Adds to `basic` the GPT-2 idea (Radford et al. 2019, section 2.2): merges must not cross the boundaries of
a pre-tokenization (letters, numbers, punctuation, whitespace), so " dog", " dog." and " dog!" share the
token " dog". Training counts each distinct chunk once with its frequency; encoding caches the ids of each
distinct chunk, which on natural text makes most chunks a dict lookup. Special tokens follow tiktoken's
rules: `allowed_special` are encoded as their ids, `disallowed_special` (default: all the others) in the
text raise a ValueError. Reference: karpathy/minbpe `regex.py`; the patterns are tiktoken's
(`tiktoken_ext/openai_public.py`, r50k_base and cl100k_base).
"""

from __future__ import annotations

from collections import Counter
from itertools import chain

import regex

from nanozoo.tokenizers.base import TokenizerError
from nanozoo.tokenizers.basic import BasicTokenizer

GPT2_SPLIT_PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s"""
GPT4_SPLIT_PATTERN = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
    r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)
PATTERNS = {"gpt2": GPT2_SPLIT_PATTERN, "gpt4": GPT4_SPLIT_PATTERN, "none": ""}
# NOTE: the same splits without possessive quantifiers; the `regex` module runs them ~1.5x faster (findall
# on Tiny Shakespeare: 0.081 s vs 0.122 s for GPT-2's, 0.067 s vs 0.100 s for GPT-4's). They are equal
# because each quantifier ends its alternative, so a match never backtracks into it: the one case that
# could, `\s+$`, only shortens a whitespace run, and a shorter run cannot end where `$` holds (tested).
EQUIVALENT = {
    GPT2_SPLIT_PATTERN: r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+$|\s+(?!\S)|\s""",
    GPT4_SPLIT_PATTERN: (
        r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s+$"""
        r"""|\s*[\r\n]|\s+(?!\S)|\s"""
    ),
}
_CACHE_MAX = 1 << 17  # distinct chunks remembered by encode; the cache is cleared when it is full


class RegexTokenizer(BasicTokenizer):
    """Byte-level BPE over regex chunks (minbpe's RegexTokenizer), with tiktoken-style special tokens."""

    def __init__(self, pattern: str = "gpt4") -> None:
        super().__init__()
        self.pattern = PATTERNS.get(pattern, pattern)
        self._after_load()

    def _after_load(self) -> None:
        try:
            pattern = EQUIVALENT.get(self.pattern, self.pattern)
            self._split = regex.compile(pattern).findall if pattern else None
        except regex.error as e:
            raise TokenizerError(
                f"pattern {self.pattern!r} is not a valid regex ({e}); or name one of {sorted(PATTERNS)}"
            ) from None
        self._cache = _ChunkCache(self.encode_chunk)

    def set_state(self, byte_ids, merges, special_tokens=None) -> None:
        super().set_state(byte_ids, merges, special_tokens)
        self._cache = _ChunkCache(self.encode_chunk)

    def clear_cache(self) -> None:
        """Forget the ids remembered for each distinct chunk (to measure a cold encode, or free memory)."""
        self._cache.clear()

    def chunks(self, text: str) -> list[str]:
        return self._split(text) if self._split is not None else ([text] if text else [])

    def chunk_counts(self, text: str) -> dict[bytes, int]:
        return {c.encode("utf-8"): n for c, n in Counter(self.chunks(text)).items()}

    # -- encoding --------------------------------------------------------------------------------

    def encode_ordinary(self, text: str) -> list[int]:
        """Encode ignoring special tokens (their text is encoded like any other text)."""
        cache = self._cache
        if len(cache) > _CACHE_MAX:
            cache.clear()
        # the loop runs in C: a cache hit is a dict lookup, a miss calls _ChunkCache.__missing__
        return list(chain.from_iterable(map(cache.__getitem__, self.chunks(text))))

    def encode(self, text: str, allowed_special=frozenset(), disallowed_special="all") -> list[int]:
        """Encode `text`; the special tokens in `allowed_special` ("all" or a set) become their ids.

        As in tiktoken, a special token of `disallowed_special` (default "all": every special token not
        allowed) found in the text raises a ValueError; pass `disallowed_special=()` to encode it as text.
        """
        specials = self.special_tokens
        allowed = set(specials) if allowed_special == "all" else set(allowed_special)
        if allowed - set(specials):
            raise TokenizerError(
                f"allowed_special {sorted(allowed - set(specials))} are not special tokens of "
                f"this tokenizer; it has {sorted(specials)}"
            )
        disallowed = set(specials) - allowed if disallowed_special == "all" else set(disallowed_special)
        if disallowed:
            m = _special_regex(disallowed).search(text)
            if m:
                raise TokenizerError(
                    f"the text contains the special token {m.group()!r}, which is disallowed; pass "
                    f"allowed_special={{{m.group()!r}}} to encode it as a special token, or "
                    f"disallowed_special=() to encode it as ordinary text"
                )
        if not allowed:
            return self.encode_ordinary(text)
        ids: list[int] = []
        # the capturing group keeps the specials: [text, special, text, special, ..., text]
        for i, part in enumerate(regex.split(f"({_special_regex(allowed).pattern})", text)):
            if i % 2:
                ids.append(specials[part])
            elif part:
                ids += self.encode_ordinary(part)
        return ids


class _ChunkCache(dict):
    """chunk text -> its ids, computed on first use."""

    def __init__(self, encode_chunk) -> None:
        super().__init__()
        self.encode_chunk = encode_chunk

    def __missing__(self, chunk: str) -> list[int]:
        ids = self[chunk] = self.encode_chunk(chunk.encode("utf-8"))
        return ids


def _special_regex(tokens) -> regex.Pattern:
    # longest first, so that "<|a|>" does not shadow "<|a|>x" when both are special
    return regex.compile("|".join(regex.escape(t) for t in sorted(tokens, key=lambda t: (-len(t), t))))
