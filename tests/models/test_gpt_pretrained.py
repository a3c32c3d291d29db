"""GPT-2 itself: the 124M configuration's size, and `nanozoo sample --hf-dir` against transformers."""

import pytest
import torch

from nanozoo.cli import main
from nanozoo.models.gpt import GPT, GPTConfig

GPT2_SMALL = dict(n_layer=12, n_head=12, n_embd=768, block_size=1024)


@pytest.mark.parametrize("vocab_size, expected", [(50257, 124_439_808), (50304, 124_475_904)])
def test_gpt2_124m_parameter_count(vocab_size, expected):
    # GPT-2 small, tied head, position table included: HF's GPT2LMHeadModel counts 124,439,808; the vocab
    # padded to 50304 (a multiple of 64, nanoGPT's speed trick) adds 47 rows of 768
    with torch.device("meta"):  # shapes only: no memory, no time
        model = GPT(GPTConfig(vocab_size=vocab_size, **GPT2_SMALL))
    assert model.num_params(non_embedding=False) == expected


def test_sample_hf_dir_is_greedy_transformers(need, need_data, randomise, tmp_path, capsys):
    transformers = need("transformers")
    tiktoken = need("tiktoken")
    from nanozoo.tokenizers.gpt import tiktoken_encoding

    torch.manual_seed(0)
    cfg = transformers.GPT2Config(
        vocab_size=50257,
        n_positions=64,
        n_embd=16,
        n_layer=2,
        n_head=2,
        bos_token_id=50256,
        eos_token_id=50256,
    )
    hf = randomise(transformers.GPT2LMHeadModel(cfg), scale=0.3).eval()
    hf.save_pretrained(tmp_path)  # no vocab files in the folder: the catalogue's GPT-2 files are used
    need_data("gpt2_bpe", "encoder.json")
    enc = tiktoken_encoding("gpt2")  # the reference tokenizer, offline from the same files
    assert isinstance(enc, tiktoken.Encoding)
    prompt = "Hello world, the"
    ids = torch.tensor([enc.encode(prompt)])
    theirs = hf.generate(ids, max_new_tokens=30, min_new_tokens=30, do_sample=False, pad_token_id=50256)
    expected = prompt + enc.decode(theirs[0, ids.size(1) :].tolist())
    args = [
        "sample",
        "--hf-dir",
        str(tmp_path),
        "--prompt",
        prompt,
        "--max-new-tokens",
        "30",
        "--temperature",
        "0",
    ]
    main(args)
    assert capsys.readouterr().out == expected + "\n"
    # an empty prompt starts from <|endoftext|>, as GPT-2 does
    theirs = hf.generate(torch.tensor([[50256]]), max_new_tokens=10, do_sample=False, pad_token_id=50256)
    main(["sample", "--hf-dir", str(tmp_path), "--max-new-tokens", "10", "--temperature", "0"])
    assert capsys.readouterr().out == enc.decode(theirs[0, 1:].tolist()) + "\n"


def test_sample_hf_dir_refusals(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main(["sample", "--hf-dir", str(tmp_path)])
    assert e.value.code == 1 and "not an HF GPT-2 folder" in capsys.readouterr().err
    GPT(GPTConfig(vocab_size=100, block_size=8, n_layer=1, n_head=1, n_embd=8)).save_pretrained(tmp_path)
    with pytest.raises(SystemExit) as e:
        main(["sample", "--hf-dir", str(tmp_path)])
    assert e.value.code == 1 and "vocab_size=100 is smaller than GPT-2's 50257" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["sample", "runs/x", "--hf-dir", str(tmp_path)])
    assert e.value.code == 2
