"""BERT's pretraining data: sentence pairs for next-sentence prediction (NSP), and masked word pieces for the
masked language model (MLM).

Devlin et al. 2019 (section 3.1, appendix A.1) and google-research/bert `create_pretraining_data.py`:
1. A corpus is a list of documents, a document a list of sentences, a sentence a list of token ids.
2. Pairs (`nsp_pair`): a chunk of two or more consecutive sentences of a random document, around a
   random sentence, fills the length; segment A is its first sentences (a random number of them), and B
   is, half of the time, the rest of the chunk: the sentences that follow A (IsNext, label 0); else
   sentences from a random other document (NotNext, label 1). Together they fill `max_tokens` (10% of
   pairs aim at a random shorter length, as Google's `short_seq_prob`); the longer segment loses tokens
   from its end until [CLS] A [SEP] B [SEP] fits.
3. Masking (`mask_tokens`): n = round(15% of the real word pieces) positions are chosen (never [CLS], [SEP]
   or [PAD]); of those, 80% become [MASK], 10% a random token, 10% stay as they are. The labels hold the
   original ids there and -100 (not scored) everywhere else. Whole-word masking chooses whole words (a word
   piece and the "##" pieces after it) until adding the next word would pass n, as Google's script does.

Differences from Google's script: pairs and masks are drawn afresh every time a batch is drawn (RoBERTa's
"dynamic masking"; Google writes `dupe_factor=10` fixed copies of the corpus), so no epoch sees the same
masks twice; NSP is exactly 50/50 (Google's turns a one-sentence chunk into NotNext); truncation cuts
the end of the longer segment (Google cuts its front or its end at random). Every draw comes from the
generator passed in, which is what makes the trainer's resume exact.
"""

from __future__ import annotations

import torch

IS_NEXT, NOT_NEXT = 0, 1  # HF's order of BertForPreTraining's NSP labels


def check_documents(docs: list[list[list[int]]]) -> None:
    """Refuse a corpus that cannot make both kinds of pair (ValueError)."""
    if len(docs) < 2:
        raise ValueError(f"next-sentence pairs need two documents or more, not {len(docs)}")
    short = [i for i, d in enumerate(docs) if len(d) < 2 or not all(d)]
    if short:
        raise ValueError(f"document {short[0]} has fewer than two sentences, or an empty one")


def _window(doc: list[list[int]], start: int, budget: int, at_least: int = 1) -> list[list[int]]:
    """Consecutive sentences of `doc` from `start` on that hold `budget` tokens (and `at_least` sentences);
    where the document ends first, earlier sentences are taken in front, so the window still fills."""
    end, n = start, 0
    while end < len(doc) and (n < budget or end - start < at_least):
        n += len(doc[end])
        end += 1
    while start > 0 and n < budget:
        start -= 1
        n += len(doc[start])
    return doc[start:end]


def _target(max_tokens: int, least: int, gen: torch.Generator, short_prob: float) -> int:
    """The length a sequence aims at: max_tokens, or `short_prob` of the time a uniform one in [least,
    max_tokens] (Google's short_seq_prob)."""
    if torch.rand(1, generator=gen).item() < short_prob:
        return least + int(torch.randint(max_tokens - least + 1, (1,), generator=gen))
    return max_tokens


def nsp_pair(
    docs: list[list[list[int]]], max_tokens: int, gen: torch.Generator, short_prob: float = 0.1
) -> tuple[list[int], list[int], int]:
    """One (A, B, label) pair; label IS_NEXT (B follows A) or NOT_NEXT (B from another document).
    `len(A) + len(B) <= max_tokens` (room for [CLS] and two [SEP] is the caller's). `docs`: two documents
    or more, each of two sentences or more (`check_documents`)."""

    def randint(n: int) -> int:  # uniform in [0, n)
        return int(torch.randint(n, (1,), generator=gen))

    target = _target(max_tokens, 2, gen, short_prob)
    label = IS_NEXT if torch.rand(1, generator=gen).item() < 0.5 else NOT_NEXT
    d = randint(len(docs))
    # a chunk of >= 2 consecutive sentences that fills the target; A is its first a_end sentences
    chunk = _window(docs[d], randint(len(docs[d]) - 1), target, at_least=2)
    a_end = 1 + randint(len(chunk) - 1)
    a = [t for s in chunk[:a_end] for t in s]
    if label == IS_NEXT:
        b = [t for s in chunk[a_end:] for t in s]
    else:
        other = randint(len(docs) - 1)
        b_doc = docs[other + 1 if other >= d else other]  # any document but d
        b = [t for s in _window(b_doc, randint(len(b_doc)), target - len(a)) for t in s]
    while len(a) + len(b) > target and max(len(a), len(b)) > 1:  # cut the end of the longer one
        if len(a) > len(b):
            a.pop()
        else:
            b.pop()
    return a, b, label


def segment(
    docs: list[list[list[int]]], max_tokens: int, gen: torch.Generator, short_prob: float = 0.1
) -> list[int]:
    """One segment for the masked LM alone (no NSP, as RoBERTa): consecutive sentences of a random document
    from a random one on, up to `max_tokens` (or, `short_prob` of the time, a random shorter length)."""
    target = _target(max_tokens, 1, gen, short_prob)
    doc = docs[int(torch.randint(len(docs), (1,), generator=gen))]
    start = int(torch.randint(len(doc), (1,), generator=gen))
    return [t for s in _window(doc, start, target) for t in s][:target]


def frame_pair(a: list[int], b: list[int], cls_id: int, sep_id: int) -> tuple[list[int], list[int]]:
    """[CLS] A [SEP] B [SEP] and its segments: 0 up to the first [SEP], 1 after it."""
    return [cls_id, *a, sep_id, *b, sep_id], [0] * (len(a) + 2) + [1] * (len(b) + 1)


def word_groups(starts: list[bool]) -> list[list[int]]:
    """Positions grouped by word: a new group at each True (a word's first piece), e.g.
    [T, F, T] -> [[0, 1], [2]]; a leading False opens a group of its own."""
    groups: list[list[int]] = []
    for i, s in enumerate(starts):
        if s or not groups:
            groups.append([])
        groups[-1].append(i)
    return groups


def choose_positions(groups: list[list[int]], n: int, gen: torch.Generator) -> list[int]:
    """Up to n positions, whole groups at a time, in a random order of the groups (Google's loop)."""
    picked: list[int] = []
    ### BEGIN SOLUTION
    for g in torch.randperm(len(groups), generator=gen).tolist():
        if len(picked) >= n:
            break
        if len(picked) + len(groups[g]) > n:  # a word too long for what is left: try the next one
            continue
        picked += groups[g]
    ### END SOLUTION
    return picked


def mask_tokens(
    idx: torch.Tensor,
    maskable: torch.Tensor,
    mask_id: int,
    vocab_size: int,
    gen: torch.Generator,
    prob: float = 0.15,
    word_start: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(inputs, labels) of a masked-LM batch. idx (B, T) token ids; maskable (B, T) bool: the real word
    pieces (not [CLS], [SEP], [PAD]); word_start (B, T) bool: a word's first piece (whole-word masking),
    or None to mask pieces one by one. labels (B, T): the original id where chosen, -100 elsewhere."""
    chosen = torch.zeros_like(maskable)
    for row in range(idx.size(0)):
        real = maskable[row].nonzero().flatten().tolist()
        n = max(1, round(prob * len(real))) if real else 0
        if word_start is None:
            groups = [[i] for i in real]
        else:
            starts = word_start[row].tolist()
            groups = [[real[i] for i in g] for g in word_groups([starts[i] for i in real])]
        picked = choose_positions(groups, n, gen)
        chosen[row, torch.tensor(picked, dtype=torch.long)] = True
    ### BEGIN SOLUTION
    labels = torch.where(chosen, idx, -100)  # (B, T): scored only where chosen
    r = torch.rand(idx.shape, generator=gen)  # (B, T)
    to_mask = chosen & (r < 0.8)  # 80%: [MASK]
    to_random = chosen & (r >= 0.8) & (r < 0.9)  # 10%: a random token; the last 10% stay as they are
    inputs = torch.where(to_mask, mask_id, idx)
    random_ids = torch.randint(vocab_size, idx.shape, generator=gen)  # (B, T)
    inputs = torch.where(to_random, random_ids, inputs)
    ### END SOLUTION
    return inputs, labels


__all__ = [
    "IS_NEXT",
    "NOT_NEXT",
    "check_documents",
    "choose_positions",
    "frame_pair",
    "mask_tokens",
    "nsp_pair",
    "segment",
    "word_groups",
]
