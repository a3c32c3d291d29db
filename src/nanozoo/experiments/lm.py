"""What the language-model tracks share (makemore, the Shakespeare GPT, next-character): the model of a
config, exact split losses, sampling from any of our language models, and a trained run's tokenizer.

Two kinds of model read text differently. A window model (bigram, MLP, WaveNet) reads exactly the last
`block_size` tokens and predicts one: logits (B, V). A sequence model (RNN, BoW, GPT) reads up to
`block_size` tokens and predicts after each: logits (B, T, V). `next_tokens` samples from both.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from torch import nn

from nanozoo.core.runlog import RunError
from nanozoo.data.names import CharVocab
from nanozoo.experiments.registry import ExperimentError, SampleOptions, load_model
from nanozoo.models.backprop import BackpropConfig, ManualMLP
from nanozoo.models.bigram import Bigram, BigramConfig
from nanozoo.models.bow import BoW, BoWConfig
from nanozoo.models.gpt import GPT, GPTConfig
from nanozoo.models.llama import Llama, LlamaConfig
from nanozoo.models.mlp_lm import MLPLM, MLPConfig
from nanozoo.models.rnn import RNNLM, RNNConfig
from nanozoo.models.sampling import next_tokens
from nanozoo.models.wavenet import WaveNet, WaveNetConfig
from nanozoo.tokenizers.char import CharTokenizer

# model config type -> model class, for every language model an experiment trains
MODELS: dict[type, type[nn.Module]] = {
    BigramConfig: Bigram,
    MLPConfig: MLPLM,
    BackpropConfig: ManualMLP,
    WaveNetConfig: WaveNet,
    RNNConfig: RNNLM,
    BoWConfig: BoW,
    GPTConfig: GPT,
    LlamaConfig: Llama,
}
WINDOW_MODELS = (BigramConfig, MLPConfig, BackpropConfig, WaveNetConfig)


def build(cfg: Any) -> nn.Module:
    """The model of an experiment config (its `model` section)."""
    return MODELS[type(cfg.model)](cfg.model)


def reads_window(model_cfg: Any) -> bool:
    return isinstance(model_cfg, WINDOW_MODELS)


def generator(seed: int | None) -> torch.Generator | None:
    return torch.Generator().manual_seed(seed) if seed is not None else None


# ---------------------------------------------------------------------------------------------------
# Exact losses


@torch.no_grad()
def split_loss(model: nn.Module, X: torch.Tensor, Y: torch.Tensor, chunk: int = 4096) -> float:
    """Mean cross-entropy over every (non-padding, -1) target of a whole split, in chunks."""
    device = next(model.parameters()).device
    total, count = 0.0, 0
    for i in range(0, len(X), chunk):
        x, y = X[i : i + chunk].to(device), Y[i : i + chunk].to(device)
        n = int((y != -1).sum())
        total += model(x, y)[1].item() * n
        count += n
    return total / count


# ---------------------------------------------------------------------------------------------------
# Sampling


def sample_chars(model: nn.Module, tok: CharTokenizer, prompt: str, n: int, **sampling: Any) -> Iterator[str]:
    """Characters one at a time after `prompt`; a window model sees it left-padded with newlines, a sequence
    model an empty prompt as one newline."""
    ids = tok.encode(prompt)  # first: a character outside the vocabulary fails before anything is written
    if reads_window(model.config):
        ids = tok.encode("\n") * model.config.block_size + ids
    elif not ids:
        ids = tok.encode("\n")
    device = next(model.parameters()).device
    for nxt in next_tokens(model, torch.tensor([ids], device=device), n, **sampling):
        yield tok.decode(nxt.tolist())


def refuse_names_options(run_dir: Path, opts: SampleOptions) -> None:
    """--exclude-train / --mark-train belong to the names runs: a text run refuses them in one line."""
    if opts.exclude_train or opts.mark_train:
        raise ExperimentError(
            f"--exclude-train and --mark-train are for runs on names (names-*); {run_dir} samples text"
        )


def sample_text(run_dir: Path, opts: SampleOptions) -> Iterator[str]:
    """`nanozoo sample RUN` for a text model: each sample is the prompt, then streamed characters."""
    refuse_names_options(run_dir, opts)
    model, _ = load_model(run_dir)
    tok = load_tokenizer(run_dir)
    ids = tok.encode(opts.prompt)  # refuse a bad prompt before echoing it
    gen = generator(opts.seed)
    for k in range(opts.num):
        yield ("\n" + "-" * 40 + "\n" if k else "") + opts.prompt
        if hasattr(tok, "decode_bytes"):  # a BPE run
            yield from sample_bytes(model, tok, ids or tok.encode("\n"), opts, gen)
            continue
        if hasattr(tok, "bos_id"):  # a SentencePiece run (Llama)
            yield from sample_pieces(model, tok, opts, gen)
            continue
        yield from sample_chars(
            model,
            tok,
            opts.prompt,
            opts.max_new_tokens,
            temperature=opts.temperature,
            top_k=opts.top_k,
            top_p=opts.top_p,
            generator=gen,
        )


def sample_bytes(model: GPT, tok: Any, ids: list[int], opts: SampleOptions, gen) -> Iterator[str]:
    """Text streamed after the prompt `ids` from a model with a byte-level (BPE) tokenizer."""
    sampling = dict(temperature=opts.temperature, top_k=opts.top_k, top_p=opts.top_p, generator=gen)
    prompt = torch.tensor([ids], device=next(model.parameters()).device)
    yield from stream_text(tok, model.stream(prompt, opts.max_new_tokens, **sampling))


def sample_pieces(model, tok: Any, opts: SampleOptions, gen) -> Iterator[str]:
    """Text streamed after BOS and the prompt from a model with a SentencePiece tokenizer (Llama)."""
    ids = tok.encode(opts.prompt, bos=True)
    prompt = torch.tensor([ids], device=next(model.parameters()).device)
    sampling = dict(temperature=opts.temperature, top_k=opts.top_k, top_p=opts.top_p, generator=gen)
    yield from stream_pieces(tok, model.stream(prompt, opts.max_new_tokens, **sampling), ids)


def stream_text(tok: Any, tokens: Iterator[torch.Tensor]) -> Iterator[str]:
    """Text of (1,) tokens as they come from a byte-level tokenizer: a token may end inside a UTF-8
    character, so bytes are decoded incrementally (invalid ones become U+FFFD, as `tok.decode` does)."""
    utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")
    for nxt in tokens:
        yield utf8.decode(tok.decode_bytes(nxt.tolist()))
    yield utf8.decode(b"", final=True)


def stream_pieces(tok: Any, tokens: Iterator[torch.Tensor], prompt: list[int] = ()) -> Iterator[str]:
    """Text of (1,) tokens as they come from a SentencePiece model, after the `prompt` ids (already shown):
    each step decodes all the ids so far and yields what is new (a piece's leading space and byte pieces
    decode only in context); a U+FFFD at the end, perhaps a character whose bytes are still coming, waits
    for the next token."""
    ids = list(prompt)
    shown = tok.decode(ids)
    for nxt in tokens:
        ids += nxt.tolist()
        text = tok.decode(ids)
        stable = text.rstrip("\ufffd")
        if stable.startswith(shown) and len(stable) > len(shown):
            yield stable[len(shown) :]
            shown = stable
    text = tok.decode(ids)
    if text.startswith(shown):
        yield text[len(shown) :]


def sample_pretrained(hf_dir: str | Path, opts: SampleOptions, data_dir: Path | None = None) -> Iterator[str]:
    """`nanozoo sample --hf-dir DIR`: an HF checkpoint, GPT-2 or Llama (config.json's model_type).
    GPT-2 reads DIR's own vocab.json + merges.txt (what HF ships beside the weights), else the catalogue's
    `gpt2_bpe` files, and an empty prompt starts from <|endoftext|>, as GPT-2 was trained. A Llama reads
    DIR's SentencePiece tokenizer.model, else Llama 2's (`llama2_tokenizer`), and starts from BOS."""
    if opts.exclude_train or opts.mark_train:
        raise ExperimentError("--exclude-train and --mark-train are for runs on names, not --hf-dir")
    hf_dir = Path(hf_dir)
    config = hf_dir / "config.json"
    if config.is_file() and json.loads(config.read_text()).get("model_type") == "llama":
        yield from _sample_llama(hf_dir, opts, data_dir)
        return
    from nanozoo.tokenizers.gpt import GPT2_SPECIAL, from_gpt2_files, gpt2

    model = GPT.from_pretrained(hf_dir).eval()
    files = hf_dir / "vocab.json", hf_dir / "merges.txt"
    tok = from_gpt2_files(*files) if all(f.is_file() for f in files) else gpt2(data_dir)
    tok.register_special_tokens(GPT2_SPECIAL)
    if model.config.vocab_size < tok.vocab_size:
        raise ExperimentError(
            f"{hf_dir}: vocab_size={model.config.vocab_size} is smaller than GPT-2's {tok.vocab_size} tokens"
        )
    ids = tok.encode(opts.prompt) or [GPT2_SPECIAL["<|endoftext|>"]]
    gen = generator(opts.seed)
    for k in range(opts.num):
        yield ("\n" + "-" * 40 + "\n" if k else "") + opts.prompt
        yield from sample_bytes(model, tok, ids, opts, gen)


def _sample_llama(hf_dir: Path, opts: SampleOptions, data_dir: Path | None) -> Iterator[str]:
    from nanozoo.data import path
    from nanozoo.tokenizers import sentencepiece

    model = Llama.from_pretrained(hf_dir).eval()
    own = hf_dir / "tokenizer.model"
    tok = sentencepiece.load(own if own.is_file() else path("llama2_tokenizer", "tokenizer.model", data_dir))
    if model.config.vocab_size < tok.vocab_size:
        raise ExperimentError(
            f"{hf_dir}: vocab_size={model.config.vocab_size} is smaller than the tokenizer's {tok.vocab_size}"
        )
    gen = generator(opts.seed)
    for k in range(opts.num):
        yield ("\n" + "-" * 40 + "\n" if k else "") + opts.prompt
        yield from sample_pieces(model, tok, opts, gen)


# ---------------------------------------------------------------------------------------------------
# Export


EXPORT_FORMATS = ("hf", "llama2c")


def export_run(run_dir: str | Path, out: str | Path, fmt: str) -> list[Path]:
    """`nanozoo export`: a trained run's model in another program's format, into the folder `out`.
    "hf": config.json + model.safetensors that transformers loads (GPT -> GPT2LMHeadModel, Llama ->
    LlamaForCausalLM); "llama2c": run.c's model.bin, and its tokenizer.bin when the run's tokenizer is a
    SentencePiece model (run.c reads only those). Returns the files written."""
    if fmt not in EXPORT_FORMATS:
        raise ExperimentError(f"--format {fmt!r}: expected one of {', '.join(EXPORT_FORMATS)}")
    model, _ = load_model(run_dir)
    out = Path(out)
    if fmt == "hf":
        if not hasattr(model, "save_pretrained"):
            raise ExperimentError(
                f"{run_dir} holds a {type(model).__name__}: only GPT and Llama export to HF"
            )
        model.save_pretrained(out)
        return [out / "config.json", out / "model.safetensors"]
    if not isinstance(model, Llama):
        raise ExperimentError(f"{run_dir} holds a {type(model).__name__}: only a Llama exports to llama2.c")
    from nanozoo.models import llama2c

    out.mkdir(parents=True, exist_ok=True)
    written = [llama2c.export(model, out / "model.bin")]
    tok = load_tokenizer(run_dir)
    if hasattr(tok, "bos_id"):
        from nanozoo.core.atomic import atomic_write
        from nanozoo.tokenizers.sentencepiece import to_llama2c

        atomic_write(out / "tokenizer.bin", to_llama2c(tok))
        written.append(out / "tokenizer.bin")
    return written


# ---------------------------------------------------------------------------------------------------
# A run's tokenizer


def save_vocab(vocab: CharVocab, run_dir: Path) -> None:
    from nanozoo.core.atomic import atomic_write

    atomic_write(run_dir / "vocab.json", json.dumps({"itos": vocab.itos}))


def load_tokenizer(run_dir: str | Path) -> CharTokenizer | CharVocab | Any:
    """The tokenizer a run saved: tokenizer.json (character text), tokenizer.model (BPE text),
    sentencepiece.model (SentencePiece text) or vocab.json (the makemore names)."""
    run_dir = Path(run_dir)
    if (run_dir / "sentencepiece.model").is_file():
        from nanozoo.tokenizers import sentencepiece

        return sentencepiece.load(run_dir / "sentencepiece.model")
    if (run_dir / "tokenizer.model").is_file():
        from nanozoo.tokenizers.regex import RegexTokenizer

        return RegexTokenizer.load(run_dir / "tokenizer.model")
    if (run_dir / "tokenizer.json").is_file():
        return CharTokenizer.load(run_dir / "tokenizer.json")
    if not (run_dir / "vocab.json").is_file():
        raise RunError(f"{run_dir} has no tokenizer.json or vocab.json: the run did not get to save it")
    return CharVocab(json.loads((run_dir / "vocab.json").read_text())["itos"])


__all__ = [
    "EXPORT_FORMATS",
    "MODELS",
    "build",
    "export_run",
    "generator",
    "load_tokenizer",
    "reads_window",
    "refuse_names_options",
    "sample_chars",
    "sample_pretrained",
    "sample_text",
    "save_vocab",
    "split_loss",
    "stream_pieces",
    "stream_text",
]
