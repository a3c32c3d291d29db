"""BasicTokenizer: byte-level BPE on the raw bytes, no splitting, no special tokens.

Adds to `base` the two halves of BPE (Sennrich et al. 2016): training (delegated to the incremental trainer
of `train.py`) and encoding (apply the learned merges, earliest merge first). Reference: karpathy/minbpe
`basic.py`.
"""

from __future__ import annotations

import heapq
from itertools import pairwise, repeat

from nanozoo.tokenizers.base import Tokenizer, TokenizerError
from nanozoo.tokenizers.train import train_bpe

_INF = 1 << 62  # "no such merge": an int, since min() compares ints with ints faster than with a float
_LONG = 64  # chunks longer than this use the heap merge (O(n log n)) instead of the rescan (O(n^2))


class BasicTokenizer(Tokenizer):
    """Byte-level BPE over the whole text as one sequence (minbpe's BasicTokenizer)."""

    def __init__(self) -> None:
        super().__init__(pattern="")

    def _after_load(self) -> None:
        if self.pattern:
            raise TokenizerError(
                "this file has a split pattern: load it with RegexTokenizer.load or nanozoo.tokenizers.load"
            )

    # -- training --------------------------------------------------------------------------------

    def chunk_counts(self, text: str) -> dict[bytes, int]:
        """The distinct pieces training sees, with their counts: here the whole text, once."""
        return {text.encode("utf-8"): 1}

    def train(self, text: str, vocab_size: int, progress: bool = False) -> None:
        """Learn `vocab_size - 256` merges from `text` (fewer if the text runs out of pairs)."""
        if vocab_size < 256:
            raise TokenizerError(f"vocab_size={vocab_size} must be >= 256 (the 256 bytes come first)")
        merges = train_bpe(self.chunk_counts(text), vocab_size - 256, progress=progress)
        self.set_state(list(range(256)), merges, self.special_tokens)

    # -- encoding --------------------------------------------------------------------------------

    def encode_chunk(self, chunk: bytes) -> list[int]:
        """Apply the merges to one chunk: repeatedly merge the adjacent pair that was learned first.

        As in tiktoken, a chunk that is exactly one token is that token (a lookup, no merging).
        """
        idx = self.token_ids.get(chunk)
        if idx is not None:
            return [idx]
        ids = list(chunk) if self.bytes_are_ids else list(map(self.byte_ids.__getitem__, chunk))
        if len(ids) > _LONG:
            return self._encode_long(ids)
        if len(ids) < 2:
            return ids
        get = self.merges.get
        # ranks[i] is the merge id of (ids[i], ids[i+1]); merging position i only changes ranks[i-1:i+1]
        ranks = list(map(get, pairwise(ids), repeat(_INF)))
        while ranks:
            r = min(ranks)
            if r == _INF:
                break
            i = ranks.index(r)  # leftmost on ties, like tiktoken
            ids[i : i + 2] = (r,)
            del ranks[i]
            if i:
                ranks[i - 1] = get((ids[i - 1], r), _INF)
            if i < len(ranks):
                ranks[i] = get((r, ids[i + 1]), _INF)
        return ids

    def _encode_long(self, ids: list[int]) -> list[int]:
        """The same merges with a heap of (merge id, position) and a linked list of alive positions.

        Equal merge ids pop leftmost first, and a merged token only forms pairs with later merge ids, so
        the result equals the rescan loop's (and tiktoken's leftmost-lowest-rank rule).
        """
        merges = self.merges
        n = len(ids)
        ids = list(ids)
        nxt = list(range(1, n + 1))
        prv = list(range(-1, n - 1))
        heap = [(merges[p], i) for i, p in enumerate(pairwise(ids)) if p in merges]
        heapq.heapify(heap)
        while heap:
            r, i = heapq.heappop(heap)
            j = nxt[i]
            if ids[i] is None or j >= n or merges.get((ids[i], ids[j])) != r:
                continue  # stale entry: one side was merged away since it was pushed
            ids[i], ids[j] = r, None
            k = nxt[i] = nxt[j]
            if k < n:
                prv[k] = i
                q = merges.get((r, ids[k]))
                if q is not None:
                    heapq.heappush(heap, (q, i))
            h = prv[i]
            if h >= 0:
                q = merges.get((ids[h], r))
                if q is not None:
                    heapq.heappush(heap, (q, h))
        return [t for t in ids if t is not None]

    def encode(self, text: str) -> list[int]:
        return self.encode_chunk(text.encode("utf-8"))
