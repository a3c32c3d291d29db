"""The speedrun's model options, each by its defining property: QK-norm makes attention blind to the scale
of q and k, ReLU^2 is relu(x)^2, an untied head is a parameter of its own, soft-capping bounds the logits
by c * tanh(logits / c); none of them fits HF GPT-2's format."""

import pytest
import torch

from nanozoo.models.gpt import GPT, GPTConfig

SMALL = dict(vocab_size=40, block_size=16, n_layer=2, n_head=2, n_embd=16)


def model(**kw) -> GPT:
    torch.manual_seed(0)
    return GPT(GPTConfig(**SMALL, **kw)).eval()


def idx():
    return torch.randint(0, 40, (2, 16), generator=torch.Generator().manual_seed(1))


@pytest.mark.parametrize("pos", ["learned", "rope"])
def test_qk_norm_makes_attention_blind_to_the_scale_of_q_and_k(pos):
    for qk_norm, blind in [(True, True), (False, False)]:
        m = model(qk_norm=qk_norm, pos_encoding=pos)
        before = m.logits(idx())
        with torch.no_grad():
            for block in m.transformer.h:
                C = m.config.n_embd
                block.attn.c_attn.weight[: 2 * C] *= 10  # q and k rows: scores x100 without the norm
                block.attn.c_attn.bias[: 2 * C] *= 10
        after = m.logits(idx())
        assert torch.allclose(before, after, atol=1e-5) == blind


def test_relu2_is_relu_squared():
    m = model(activation="relu2")
    mlp = m.transformer.h[0].mlp
    x = torch.randn(2, 5, 16)
    expected = mlp.c_proj(torch.relu(mlp.c_fc(x)) ** 2)
    torch.testing.assert_close(mlp(x), expected, atol=1e-6, rtol=1e-6)
    gelu = model().transformer.h[0].mlp
    gelu.load_state_dict(mlp.state_dict())
    assert not torch.allclose(gelu(x), expected, atol=1e-3)  # not the GELU it replaces


def test_an_untied_head_is_its_own_parameter():
    tied, untied = model(), model(tie_embeddings=False)
    assert tied.lm_head.weight is tied.transformer.wte.weight
    assert untied.lm_head.weight is not untied.transformer.wte.weight
    V, C = SMALL["vocab_size"], SMALL["n_embd"]
    assert untied.num_params() == tied.num_params() + V * C
    untied.train()
    untied(idx(), idx())[1].backward()
    opt = torch.optim.SGD(untied.parameters(), lr=1.0)
    wte = untied.transformer.wte.weight.detach().clone()
    opt.step()
    assert not torch.equal(untied.lm_head.weight, untied.transformer.wte.weight)
    assert not torch.equal(wte, untied.transformer.wte.weight)


def test_softcap_bounds_the_logits_by_tanh():
    raw, capped = model(), model(logit_softcap=2.0)
    capped.load_state_dict(raw.state_dict())
    with torch.no_grad():
        raw.lm_head.weight.mul_(100)  # tied: scales the embedding too; logits of tens
        capped.lm_head.weight.mul_(100)
    r, c = raw.logits(idx()), capped.logits(idx())
    assert r.abs().max() > 10 and c.abs().max() <= 2.0  # tanh rounds to 1 in float32 at large inputs
    torch.testing.assert_close(c, 2.0 * torch.tanh(r / 2.0), atol=1e-5, rtol=1e-5)
    y = idx()
    loss = torch.nn.functional.cross_entropy(c.flatten(0, 1), y.flatten())
    torch.testing.assert_close(capped(idx(), y)[1], loss)  # the loss is of the capped logits
    with pytest.raises(ValueError, match="model.logit_softcap=-1"):
        GPTConfig(**SMALL, logit_softcap=-1.0)


@pytest.mark.parametrize(
    "kw", [dict(activation="relu2"), dict(qk_norm=True), dict(tie_embeddings=False), dict(logit_softcap=30.0)]
)
def test_speedrun_options_are_refused_by_the_hf_format(kw, tmp_path):
    with pytest.raises(ValueError, match="HF GPT-2 has"):
        model(**kw).save_pretrained(tmp_path)
