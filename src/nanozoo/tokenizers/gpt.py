"""The real GPT-2 and GPT-4 (cl100k) vocabularies, loaded into a RegexTokenizer; export to `.tiktoken`.

Adds to `regex` the files OpenAI ships:
- GPT-2 (Radford et al. 2019): `encoder.json` (token string -> id, bytes mapped to printable characters
  by `bytes_to_unicode`) and `vocab.bpe` (the merges, in order). The merges are given; ids are ranks.
- cl100k (GPT-3.5/GPT-4, tiktoken): a `.tiktoken` file of `base64(token bytes) rank` lines, without the
  merges. They are recovered as in minbpe's GPT4Tokenizer: the two parts of a token are what BPE makes of
  its bytes using only the ranks below its own (`bpe_split`); and the first 256 ranks are the bytes in
  another order, kept as `byte_ids` (minbpe's "byte shuffle").
Reference: karpathy/minbpe `gpt4.py`, openai/tiktoken `load.py` and `src/lib.rs` (`byte_pair_merge`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import marshal
import os
import sys
from collections.abc import Callable
from pathlib import Path

from nanozoo.core.atomic import atomic_write
from nanozoo.tokenizers.base import TokenizerError
from nanozoo.tokenizers.regex import GPT2_SPLIT_PATTERN, GPT4_SPLIT_PATTERN, RegexTokenizer

GPT2_SPECIAL = {"<|endoftext|>": 50256}
log = logging.getLogger(__name__)
CL100K_SPECIAL = {
    "<|endoftext|>": 100257,
    "<|fim_prefix|>": 100258,
    "<|fim_middle|>": 100259,
    "<|fim_suffix|>": 100260,
    "<|endofprompt|>": 100276,
}


# ---------------------------------------------------------------------------------------------------
# GPT-2: encoder.json + vocab.bpe


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's byte -> printable character map: printable bytes map to themselves, the rest to 256+."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
    bs += list(range(ord("®"), ord("ÿ") + 1))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs), strict=True))


def from_gpt2_files(encoder_json: str | Path, vocab_bpe: str | Path) -> RegexTokenizer:
    """The GPT-2 tokenizer from its two files; ids equal GPT-2's (and tiktoken's "gpt2")."""
    encoder: dict[str, int] = json.loads(Path(encoder_json).read_text(encoding="utf-8"))
    lines = Path(vocab_bpe).read_text(encoding="utf-8").split("\n")
    byte_enc = bytes_to_unicode()
    byte_ids = [encoder[byte_enc[b]] for b in range(256)]
    merges, last = {}, -1
    for n, line in enumerate(lines[1:], start=2):  # line 1 is "#version: 0.2"
        if not line:
            continue
        a, b = line.split()
        idx = encoder[a + b]
        if idx <= last:
            raise TokenizerError(f"{vocab_bpe}:{n}: merge {line!r} -> {idx} is out of rank order")
        merges[(encoder[a], encoder[b])] = last = idx
    tok = RegexTokenizer(GPT2_SPLIT_PATTERN)
    tok.set_state(byte_ids, merges, GPT2_SPECIAL)
    return tok


# ---------------------------------------------------------------------------------------------------
# .tiktoken ranks: read, write, recover the merges


def load_tiktoken_ranks(path: str | Path) -> dict[bytes, int]:
    """`base64 rank` lines -> {token bytes: rank} (the same as `tiktoken.load.load_tiktoken_bpe`)."""
    ranks = {}
    for n, line in enumerate(Path(path).read_bytes().splitlines(), start=1):
        if not line:
            continue
        try:
            tok, rank = line.split()
            ranks[base64.b64decode(tok, validate=True)] = int(rank)
        except ValueError as e:
            raise TokenizerError(f"{path}:{n}: not a `base64 rank` line ({e})") from None
    return ranks


def save_tiktoken(tok: RegexTokenizer, path: str | Path) -> Path:
    """Write the regular tokens of `tok` as a `.tiktoken` file (rank = our id; special tokens left out)."""
    special = set(tok.special_tokens.values())
    regular = sorted((i, t) for i, t in tok.vocab.items() if i not in special)
    if len({t for _, t in regular}) != len(regular):
        raise TokenizerError("two tokens have the same bytes; a .tiktoken file cannot hold them")
    path = Path(path)
    path.write_bytes(b"".join(base64.b64encode(t) + b" %d\n" % i for i, t in regular))
    return path


def bpe_split(ranks: dict[bytes, int], token: bytes, max_rank: int | None = None) -> list[bytes]:
    """tiktoken's `byte_pair_merge`: merge the lowest-ranked adjacent parts (leftmost on ties) until
    none is in `ranks` (or all are >= `max_rank`)."""
    parts = [bytes([b]) for b in token]
    while len(parts) > 1:
        best, best_rank = None, None
        for i in range(len(parts) - 1):
            r = ranks.get(parts[i] + parts[i + 1])
            if r is not None and (best_rank is None or r < best_rank):
                best, best_rank = i, r
        if best is None or (max_rank is not None and best_rank >= max_rank):
            break
        parts[best : best + 2] = [parts[best] + parts[best + 1]]
    return parts


def recover_merges(ranks: dict[bytes, int]) -> tuple[list[int], dict[tuple[int, int], int]]:
    """(byte_ids, merges) from ranks: each multi-byte token is the merge of the two parts BPE makes of it
    with the lower ranks only (subtle: a file whose tokens are not reachable this way is refused)."""
    try:
        byte_ids = [ranks[bytes([b])] for b in range(256)]
    except KeyError as e:
        raise TokenizerError(f"the ranks have no token for the single byte {e.args[0]!r}") from None
    merges = {}
    for token, rank in sorted(ranks.items(), key=lambda kv: kv[1]):
        if len(token) == 1:
            continue
        parts = bpe_split(ranks, token, max_rank=rank)
        if len(parts) != 2:
            raise TokenizerError(f"token {token!r} (rank {rank}) is not the merge of two lower-ranked tokens")
        merges[(ranks[parts[0]], ranks[parts[1]])] = rank
    return byte_ids, merges


def from_tiktoken_file(
    path: str | Path, pattern: str = GPT4_SPLIT_PATTERN, special_tokens: dict[str, int] | None = None
) -> RegexTokenizer:
    """A tokenizer from `.tiktoken` ranks (cl100k_base by default: GPT-4 pattern and special tokens)."""
    byte_ids, merges = recover_merges(load_tiktoken_ranks(path))
    tok = RegexTokenizer(pattern)
    tok.set_state(byte_ids, merges, CL100K_SPECIAL if special_tokens is None else special_tokens)
    return tok


# ---------------------------------------------------------------------------------------------------
# The catalogued vocabularies


def gpt2(data_dir=None, download: bool = True) -> RegexTokenizer:
    """GPT-2's tokenizer from the `gpt2_bpe` files of the data catalogue (verified by sha256)."""
    from nanozoo import data

    files = [data.path("gpt2_bpe", f, data_dir, download=download) for f in ("encoder.json", "vocab.bpe")]
    return _cached(files, lambda: from_gpt2_files(*files))


def cl100k(data_dir=None, download: bool = True) -> RegexTokenizer:
    """GPT-4's cl100k_base tokenizer from `cl100k/cl100k_base.tiktoken` of the data catalogue."""
    from nanozoo import data

    ranks = data.path("cl100k", "cl100k_base.tiktoken", data_dir, download=download)
    return _cached([ranks], lambda: from_tiktoken_file(ranks))


# NOTE: parsing GPT-2's 50k merges and building its vocabulary takes ~0.2 s (cl100k's: 1.5 s), most of a
# `nanozoo tokenizer encode`; the built state, kept with marshal (the format of Python's own .pyc caches),
# loads in 0.04-0.06 s (benchmarks/RESULTS.md, "CLI start-up, second measurement"). The key is the source
# files' path, size and mtime, so an edited file is parsed again; so is an unreadable or corrupt cache; one
# that cannot be written is skipped.
_CACHE_FORMAT = 1


def _cached(files: list[Path], build: Callable[[], RegexTokenizer]) -> RegexTokenizer:
    from nanozoo.data.catalogue import cache_dir

    stats = [(str(Path(f).resolve()), os.stat(f).st_size, os.stat(f).st_mtime_ns) for f in files]
    key = hashlib.sha256(repr((_CACHE_FORMAT, sys.version_info[:2], stats)).encode()).hexdigest()[:20]
    path = cache_dir() / "tokenizers" / f"{Path(files[0]).parent.name}-{key}.marshal"
    try:
        state = marshal.loads(path.read_bytes())
        tok = RegexTokenizer(state[0])
        tok.restore_fast_state(state)
        return tok
    except (OSError, EOFError, ValueError, TypeError):
        pass
    tok = build()
    try:
        atomic_write(path, marshal.dumps(tok.fast_state()))
    except OSError as e:
        log.debug("tokenizer cache %s not written: %s", path, e)
    return tok


# ---------------------------------------------------------------------------------------------------
# The reference: tiktoken's own encodings, offline

# the files tiktoken_ext.openai_public downloads, by URL basename -> (dataset, file) of our catalogue
TIKTOKEN_FILES = {
    "vocab.bpe": ("gpt2_bpe", "vocab.bpe"),
    "encoder.json": ("gpt2_bpe", "encoder.json"),
    "cl100k_base.tiktoken": ("cl100k", "cl100k_base.tiktoken"),
}


def tiktoken_encoding(name: str, data_dir=None, download: bool = True):
    """tiktoken's `name` encoding ("gpt2", "cl100k_base") as tiktoken itself defines it
    (`tiktoken_ext.openai_public`: its split pattern, special tokens and sha256 checks), with its files
    read through our data catalogue instead of tiktoken's URLs. None of our patterns or special tokens
    play a part: this is what the parity tests and benchmarks compare with. Needs `tiktoken`."""
    import tiktoken
    import tiktoken.load
    from tiktoken_ext import openai_public as public

    from nanozoo import data

    def local(url: str) -> str:
        return str(data.path(*TIKTOKEN_FILES[url.rsplit("/", 1)[-1]], data_dir, download=download))

    def load_bpe(url, expected_hash=None):
        return tiktoken.load.load_tiktoken_bpe(local(url), expected_hash)

    def data_gym(vocab_bpe_file, encoder_json_file, **hashes):
        return tiktoken.load.data_gym_to_mergeable_bpe_ranks(
            local(vocab_bpe_file), local(encoder_json_file), **hashes
        )

    saved = public.load_tiktoken_bpe, public.data_gym_to_mergeable_bpe_ranks
    public.load_tiktoken_bpe, public.data_gym_to_mergeable_bpe_ranks = load_bpe, data_gym
    try:
        return tiktoken.Encoding(**public.ENCODING_CONSTRUCTORS[name]())
    finally:
        public.load_tiktoken_bpe, public.data_gym_to_mergeable_bpe_ranks = saved
