"""BERT's pretraining data: the masking statistics (15%, 80/10/10, whole words) and the NSP pairs."""

import pytest
import torch

from nanozoo.data.mlm import (
    IS_NEXT,
    NOT_NEXT,
    check_documents,
    choose_positions,
    frame_pair,
    mask_tokens,
    nsp_pair,
    word_groups,
)

MASK, V = 4, 30_000


def batch(B=400, T=100, seed=0):
    """Random ids >= 5 with a [CLS] (2) first, a [SEP] (3) somewhere and padding (0) after rows' ends."""
    g = torch.Generator().manual_seed(seed)
    idx = torch.randint(5, V, (B, T), generator=g)
    lengths = torch.randint(10, T + 1, (B,), generator=g)
    real = torch.arange(T)[None, :] < lengths[:, None]  # (B, T)
    idx = torch.where(real, idx, 0)
    idx[:, 0] = 2
    idx[torch.arange(B), lengths - 1] = 3
    maskable = real & (idx != 2) & (idx != 3)
    return idx, maskable


def test_masking_statistics():
    idx, maskable = batch()
    inputs, labels = mask_tokens(idx, maskable, MASK, V, torch.Generator().manual_seed(1))
    chosen = labels != -100
    # exactly round(15%) of each row's real pieces, never [CLS], [SEP] or padding; labels are the originals
    want = [max(1, round(0.15 * int(n))) for n in maskable.sum(1)]
    assert chosen.sum(1).tolist() == want
    assert not (chosen & ~maskable).any()
    assert torch.equal(labels[chosen], idx[chosen])
    assert torch.equal(inputs[~chosen], idx[~chosen])  # what is not chosen is never touched
    # 80% [MASK], 10% a random token, 10% kept (on ~3,200 chosen positions: sd of a share <= 0.007)
    n = chosen.sum().item()
    masked = (inputs[chosen] == MASK).sum().item() / n
    kept = (inputs[chosen] == idx[chosen]).sum().item() / n
    random = 1 - masked - kept
    assert n > 3000
    assert masked == pytest.approx(0.8, abs=0.025)
    assert kept == pytest.approx(0.1, abs=0.02) and random == pytest.approx(0.1, abs=0.02)
    # the same generator state gives the same masks (what makes resume exact)
    again = mask_tokens(idx, maskable, MASK, V, torch.Generator().manual_seed(1))
    assert torch.equal(again[0], inputs) and torch.equal(again[1], labels)


def test_masking_spreads_over_positions():
    # every maskable position is chosen about equally often: no bias to the start of a row
    idx, maskable = batch(B=2000, T=20, seed=2)
    maskable[:] = True
    _, labels = mask_tokens(idx, maskable, MASK, V, torch.Generator().manual_seed(3))
    share = (labels != -100).float().mean(0)  # (T,): 3 of 20 in every row
    assert share.sum().item() == pytest.approx(3.0)
    assert share.min().item() > 0.12 and share.max().item() < 0.18  # 0.15 each; sd 0.008


def test_whole_word_masking():
    idx, maskable = batch(B=300, T=60, seed=4)
    g = torch.Generator().manual_seed(5)
    word_start = torch.rand(idx.shape, generator=g) < 0.6  # words of 1.7 pieces on average
    inputs, labels = mask_tokens(
        idx, maskable, MASK, V, torch.Generator().manual_seed(6), word_start=word_start
    )
    chosen = labels != -100
    longest = 0
    for row in range(idx.size(0)):
        real = maskable[row].nonzero().flatten().tolist()
        groups = [[real[i] for i in grp] for grp in word_groups([bool(word_start[row, i]) for i in real])]
        picked = [chosen[row, grp].tolist() for grp in groups]
        assert all(all(p) or not any(p) for p in picked)  # a word is masked whole, or not at all
        n = max(1, round(0.15 * len(real)))
        k = int(chosen[row].sum())
        assert k <= n  # never more than 15%; fewer only when no word fits what is left
        longest = max(longest, n - k)
    assert longest <= 3  # words here are short: the shortfall is a piece or two
    assert (chosen.sum() / maskable.sum()).item() == pytest.approx(0.15, abs=0.015)
    assert (inputs[chosen] == MASK).float().mean().item() == pytest.approx(0.8, abs=0.03)


def test_word_groups_and_choose_by_hand():
    assert word_groups([True, False, True, True, False, False]) == [[0, 1], [2], [3, 4, 5]]
    assert word_groups([False, True]) == [[0], [1]]  # a row that opens inside a word
    groups = [[0, 1], [2], [3, 4, 5]]
    for seed in range(20):
        picked = choose_positions(groups, 2, torch.Generator().manual_seed(seed))
        assert sorted(picked) in ([0, 1], [2])  # whole groups only, at most 2 positions
    assert sorted(choose_positions(groups, 6, torch.Generator())) == [0, 1, 2, 3, 4, 5]


def corpus(n_docs=40, n_sent=12, seed=0):
    """Sentence j of document d is [1000 d + j] repeated 2..7 times: every token says where it came from."""
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(2, 8, (n_docs, n_sent), generator=g).tolist()
    return [[[1000 * d + j] * lengths[d][j] for j in range(n_sent)] for d in range(n_docs)]


def where(tokens):
    """The (document, sentence) of each token, in order, without repeats."""
    out = []
    for t in tokens:
        if not out or out[-1] != divmod(t, 1000):
            out.append(divmod(t, 1000))
    return out


@pytest.mark.parametrize("max_tokens, short_prob", [(16, 0.1), (200, 0.0)])
def test_nsp_pairs(max_tokens, short_prob):
    docs = corpus()
    gen = torch.Generator().manual_seed(7)
    labels = []
    for _ in range(2000):
        a, b, label = nsp_pair(docs, max_tokens, gen, short_prob)
        labels.append(label)
        assert a and b and len(a) + len(b) <= max_tokens
        wa, wb = where(a), where(b)
        # A: consecutive sentences of one document
        assert len({d for d, _ in wa}) == 1 and [j for _, j in wa] == list(range(wa[0][1], wa[-1][1] + 1))
        assert len({d for d, _ in wb}) == 1
        if label == IS_NEXT:  # B continues A's document after A (right after it unless A's end was cut)
            assert wb[0][0] == wa[0][0] and wb[0][1] > wa[-1][1]
            if max_tokens == 200:  # nothing is cut: B is the very next sentence
                assert wb[0][1] == wa[-1][1] + 1 and len(a) == sum(len(docs[wa[0][0]][j]) for _, j in wa)
        else:
            assert label == NOT_NEXT and wb[0][0] != wa[0][0]
    assert sum(1 for x in labels if x == IS_NEXT) / len(labels) == pytest.approx(0.5, abs=0.035)


def test_nsp_pairs_fill_the_length():
    docs = corpus(n_sent=40)
    gen = torch.Generator().manual_seed(8)
    lengths = [sum(map(len, nsp_pair(docs, 60, gen, short_prob=0.0)[:2])) for _ in range(300)]
    assert min(lengths) >= 50  # sentences of at most 7 tokens: a pair stops within one of the target
    gen = torch.Generator().manual_seed(8)
    short = [sum(map(len, nsp_pair(docs, 60, gen, short_prob=1.0)[:2])) for _ in range(300)]
    assert sum(short) / len(short) < 0.7 * sum(lengths) / len(lengths)  # random targets in [2, 60]


def test_frame_and_refusals():
    assert frame_pair([7, 8], [9], 2, 3) == ([2, 7, 8, 3, 9, 3], [0, 0, 0, 0, 1, 1])
    with pytest.raises(ValueError, match="two documents or more"):
        check_documents([[[1], [2]]])
    with pytest.raises(ValueError, match="document 1 has fewer than two sentences"):
        check_documents([[[1], [2]], [[3]]])
