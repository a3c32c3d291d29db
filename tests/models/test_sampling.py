import pytest
import torch

from nanozoo.models.sampling import sample_next


def test_top_k_and_top_p_never_leave_the_allowed_set():
    torch.manual_seed(0)
    logits = torch.randn(4, 50) * 3
    g = torch.Generator().manual_seed(0)
    topk = set(logits.topk(5, dim=-1).indices[0].tolist())
    draws = {sample_next(logits[:1], 1.5, top_k=5, generator=g).item() for _ in range(400)}
    assert draws <= topk and len(draws) > 1
    # by hand: cumulative 0.40, 0.65, 0.80, ... so the nucleus of p=0.7 is the first three tokens
    probs = torch.tensor([[0.05, 0.40, 0.10, 0.25, 0.05, 0.15]])
    draws = [sample_next(probs.log(), 1.0, top_p=0.7, generator=g).item() for _ in range(600)]
    assert set(draws) == {1, 3, 5}
    assert draws.count(1) / 600 == pytest.approx(0.40 / 0.80, abs=0.07)  # renormalised within the nucleus
    assert torch.equal(sample_next(logits, 0.0), logits.argmax(-1))  # temperature 0 is greedy
    with pytest.raises(ValueError, match="top_p=1.5"):
        sample_next(logits, top_p=1.5)
