"""llama2.c interop: our Llama exported to its .bin runs in the real `run.c` (compiled with gcc) with the
same greedy tokens as ours, and a llama2.c checkpoint loads back into our Llama."""

import re
import shutil
import subprocess

import pytest
import torch

from nanozoo.models import llama2c
from nanozoo.models.llama import Llama, LlamaConfig
from nanozoo.tokenizers import sentencepiece as sp

CFG = dict(vocab_size=64, block_size=48, n_layer=2, n_head=4, n_kv_head=2, n_embd=32, hidden_dim=80)


@pytest.fixture(scope="module")
def run_c(need_peer, tmp_path_factory):
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("gcc is not installed: llama2.c's run.c cannot be compiled")
    exe = tmp_path_factory.mktemp("llama2c") / "run"
    subprocess.run(
        [gcc, "-O2", "-o", str(exe), str(need_peer("llama2c", "run.c")), "-lm"], check=True, timeout=120
    )
    return exe


def readable_vocab(n: int) -> sp.SentencePieceBPE:
    """A vocabulary whose every piece prints as `<id>`, so run.c's output text gives back its token ids."""
    pieces = ["<0>", "<s>", "</s>"] + [f"<{i}>" for i in range(3, n)]  # <unk> too; run.c prints </s>
    types = [sp.UNKNOWN, sp.CONTROL, sp.CONTROL] + [sp.NORMAL] * (n - 3)
    return sp.SentencePieceBPE(pieces, [0.0] * n, types, byte_fallback=False)


def random_llama(tie: bool, seed: int) -> Llama:
    torch.manual_seed(seed)
    model = Llama(LlamaConfig(**CFG, tie_embeddings=tie)).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn_like(p) * 0.3 + (1.0 if p.dim() == 1 else 0.0))
    return model


@pytest.mark.parametrize("tie", [True, False])
def test_run_c_greedy_tokens_equal_ours(run_c, tmp_path, tie):
    model = random_llama(tie, seed=int(tie))
    llama2c.export(model, tmp_path / "model.bin")
    (tmp_path / "tok.bin").write_bytes(sp.to_llama2c(readable_vocab(64)))
    steps = 40
    args = [str(tmp_path / "model.bin"), "-z", str(tmp_path / "tok.bin"), "-t", "0", "-n", str(steps)]
    done = subprocess.run([str(run_c), *args], capture_output=True, text=True, timeout=60, check=True)
    theirs = [2 if i == "/s" else int(i) for i in re.findall(r"<(\d+|/s)>", done.stdout)]
    ours = model.generate(torch.tensor([[1]]), steps, temperature=0)[0, 1:].tolist()  # -n: tokens made
    if 1 in ours:  # run.c stops at BOS, which delimits sequences
        ours = ours[: ours.index(1)]
    assert len(theirs) >= 10 and len(set(theirs)) >= 5 and theirs == ours


@pytest.mark.parametrize("tie", [True, False])
def test_export_then_load_gives_the_same_model(tmp_path, tie):
    model = random_llama(tie, seed=7)
    llama2c.export(model, tmp_path / "m.bin")
    back = llama2c.load(tmp_path / "m.bin").eval()
    assert back.config.tie_embeddings == tie
    idx = torch.randint(0, 64, (2, 20))
    torch.testing.assert_close(back.logits(idx), model.logits(idx))


def test_a_wrong_or_short_file_is_refused(tmp_path):
    from nanozoo.core.checkpoint import CheckpointError

    model = random_llama(True, seed=8)
    llama2c.export(model, tmp_path / "m.bin")
    data = (tmp_path / "m.bin").read_bytes()
    (tmp_path / "cut.bin").write_bytes(data[:-4])
    with pytest.raises(CheckpointError, match="bytes; a llama2.c model with this header has"):
        llama2c.load(tmp_path / "cut.bin")
    (tmp_path / "tiny.bin").write_bytes(b"\x01\x02")
    with pytest.raises(CheckpointError, match="too short"):
        llama2c.load(tmp_path / "tiny.bin")
    with pytest.raises(CheckpointError, match="run.c fixes rope_theta"):
        llama2c.export(Llama(LlamaConfig(**CFG, rope_theta=5e5)), tmp_path / "x.bin")
