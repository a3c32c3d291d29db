"""Fast BPE training: incremental pair counts over unique chunks, and a heap with lazy invalidation.

minbpe recounts every pair of the whole text for every merge: O(merges x text). Here (as in HF `tokenizers`
and in Sennrich et al.'s reference `learn_bpe.py`):
1. the text is split once into chunks and each distinct chunk kept once, with its count (`words`);
2. the chunks are laid end to end as linked lists of symbols; the pair counts are computed once, weighted
   by the chunk counts, with an index pair -> positions where it starts;
3. a merge visits only the positions of its pair: each occurrence becomes one symbol, and the counts of
   its neighbouring pairs move by the chunk's count, (x, a) -> (x, ab) and (b, y) -> (ab, y). The cost of a
   merge is its number of occurrences, not the size of the text, so an unsplit text (BasicTokenizer) trains
   as fast per merge as a split one;
4. the best pair comes from a max-heap of `(-count, pair)`. Entries are not removed when a count changes:
   an increase pushes a new entry, and a popped entry whose count is stale is pushed again with the current
   count (subtle: the invariant is that every live pair has an entry whose count is >= its current count,
   so the first popped entry whose count is current is the true maximum).

Tie-break (deterministic, documented): the highest count wins; among equal counts the smallest pair
`(id_a, id_b)` in lexicographic order of the ids wins (the heap's order on `(-count, id_a, id_b)`).
"""

from __future__ import annotations

import heapq
import logging
from collections.abc import Iterable

from nanozoo.tokenizers.base import TokenizerError

log = logging.getLogger(__name__)


def train_bpe(
    words: Iterable[tuple[bytes, int]] | dict[bytes, int],
    num_merges: int,
    first_id: int = 256,
    progress: bool = False,
) -> dict[tuple[int, int], int]:
    """Learn `num_merges` merges from `(chunk bytes, count)`; returns `{(id_a, id_b): id_new}`.

    Byte b has id b; the i-th merge gets id `first_id + i`. Stops early (with a log line) when no pair
    occurs any more, so the result may hold fewer merges than asked for.
    """
    if num_merges < 0:
        raise TokenizerError(f"num_merges={num_merges} must be >= 0")
    items = words.items() if isinstance(words, dict) else words
    seq = _Sequences(items)
    heap = [(-c, p) for p, c in seq.stats.items()]
    heapq.heapify(heap)

    merges: dict[tuple[int, int], int] = {}
    bar = _Progress(num_merges) if progress else None
    for k in range(num_merges):
        pair = _pop_best(heap, seq.stats)
        if pair is None:
            log.info("no pair left to merge after %d merges", k)
            break
        merges[pair] = first_id + k
        for p in seq.merge(pair, first_id + k):  # only pairs with the new id can have gone up
            heapq.heappush(heap, (-seq.stats[p], p))
        if bar is not None:
            bar.advance(k)
    if bar is not None:
        bar.close()
    return merges


def _pop_best(heap: list, stats: dict) -> tuple[int, int] | None:
    """The pair with the highest current count (ties: smallest pair), or None when none is left."""
    while heap:
        negc, pair = heapq.heappop(heap)
        actual = stats.get(pair, 0)
        if actual == -negc and actual > 0:
            return pair
        if 0 < actual < -negc:  # stale: the count went down since this entry was pushed
            heapq.heappush(heap, (-actual, pair))
    return None


class _Sequences:
    """All distinct chunks laid end to end as doubly linked lists of symbols, with the pair statistics.

    Position i holds symbol `sym[i]` (-1 once merged into its left neighbour), links `nxt[i]`/`prv[i]`
    (-1 at a chunk's ends) and the count `wc[i]` of its chunk. `where[pair]` holds the positions where the
    pair started at some point; stale positions are skipped when they are visited.
    """

    def __init__(self, items) -> None:
        self.sym, self.nxt, self.prv, self.wc = sym, nxt, prv, wc = [], [], [], []
        for chunk, c in items:
            n = len(chunk)
            if n < 2:
                continue  # a single byte has no pair
            base = len(sym)
            sym.extend(chunk)
            nxt.extend(range(base + 1, base + n))
            nxt.append(-1)
            prv.append(-1)
            prv.extend(range(base, base + n - 1))
            wc.extend([c] * n)
        # 2. pair counts, weighted by the chunk counts, and the index pair -> positions
        self.stats = stats = {}
        self.where = where = {}
        for i, (x, y, j) in enumerate(zip(sym, sym[1:], nxt, strict=False)):
            if j < 0:
                continue
            p = (x, y)
            stats[p] = stats.get(p, 0) + wc[i]
            s = where.get(p)
            if s is None:
                where[p] = {i}
            else:
                s.add(i)

    def merge(self, pair: tuple[int, int], new: int) -> set[tuple[int, int]]:
        """3. Merge every occurrence, left to right; returns the pairs whose count went up."""
        sym, nxt, prv, wc, stats, where = self.sym, self.nxt, self.prv, self.wc, self.stats, self.where
        a, b = pair
        touched = set()
        # left to right, so that "a a a" merging (a, a) gives "aa a" as in encoding (subtle: the
        # neighbours are read from the current symbols, so adjacent occurrences update each other right)
        for i in sorted(where.pop(pair, ())):
            j = nxt[i]
            if sym[i] != a or j < 0 or sym[j] != b:
                continue  # stale: this position no longer starts the pair
            ### BEGIN SOLUTION
            c, h, k = wc[i], prv[i], nxt[j]
            if h >= 0:
                x = sym[h]
                stats[(x, a)] -= c
                q = (x, new)
                stats[q] = stats.get(q, 0) + c
                where.setdefault(q, set()).add(h)
                touched.add(q)
            if k >= 0:
                y = sym[k]
                stats[(b, y)] -= c
                q = (new, y)
                stats[q] = stats.get(q, 0) + c
                where.setdefault(q, set()).add(i)
                touched.add(q)
                prv[k] = i
            sym[i], sym[j], nxt[i] = new, -1, k
            ### END SOLUTION
        stats.pop(pair, None)
        return {q for q in touched if stats.get(q, 0) > 0}


class _Progress:
    """A rich progress bar over merges, refreshed every few merges to keep its cost out of the loop."""

    def __init__(self, total: int) -> None:
        from rich.console import Console
        from rich.progress import Progress

        self.p = Progress(*Progress.get_default_columns(), transient=True, console=Console(stderr=True))
        self.p.start()
        self.task = self.p.add_task("BPE merges", total=total)
        self.every = max(1, total // 200)

    def advance(self, k: int) -> None:
        if (k + 1) % self.every == 0:
            self.p.update(self.task, completed=k + 1)

    def close(self) -> None:
        self.p.stop()
