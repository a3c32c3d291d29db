"""What every byte-level BPE tokenizer shares: the vocabulary built from merges, decoding, save/load.

Byte-pair encoding (Sennrich et al. 2016, "Neural Machine Translation of Rare Words with Subword Units")
as used at the byte level by GPT-2 (Radford et al. 2019). Reference: karpathy/minbpe `base.py`.

A tokenizer here is four things:
- `byte_ids`: the id of each of the 256 bytes (the identity for the tokenizers we train; a permutation for
  GPT-2 and GPT-4, whose first 256 ranks are not the bytes in order — minbpe's "byte shuffle");
- `merges`: `(id_a, id_b) -> id_new`, where a smaller `id_new` is an earlier merge, so the id doubles as the
  merge's priority when encoding;
- `pattern`: the regex that splits text into chunks before BPE ("" for none);
- `special_tokens`: `str -> id`, matched in the text before splitting.

File format (`PREFIX.model`, text, one item a line; `PREFIX.vocab` is for people and never read back):

    nanozoo-bpe v1
    pattern <the pattern as a JSON string>
    byte_ids identity | <256 ints>
    special <n>
    <token as JSON string> <id>          (n lines)
    merges <m>
    <id_a> <id_b> <id_new>               (m lines)
"""

from __future__ import annotations

import json
import os
import unicodedata
from itertools import pairwise
from pathlib import Path

from nanozoo.core.errors import UserError

FORMAT = "nanozoo-bpe v1"


class TokenizerError(UserError, ValueError):
    """A tokenizer refused its input: an unknown name or id, a file that is not a tokenizer, unusable text."""


def read_text(path: str | Path, what: str) -> str:
    """The UTF-8 text of a file the user named; a missing, unreadable or binary file is a TokenizerError
    that names the file and says what it should have been (`what`: "training text", "a tokenizer file")."""
    path = Path(path)
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TokenizerError(f"{path}: no such file (expected {what})") from None
    except IsADirectoryError:
        raise TokenizerError(f"{path} is a directory, not a file (expected {what})") from None
    except PermissionError:
        raise TokenizerError(f"{path}: permission denied (expected {what})") from None
    except UnicodeDecodeError as e:
        raise TokenizerError(
            f"{path} is not UTF-8 text (byte 0x{e.object[e.start]:02x} at offset {e.start}); expected {what}"
        ) from None


def output_prefix(prefix: str | Path) -> Path:
    """PREFIX of the files `save` writes, its folder made and writable, or a TokenizerError naming it; the CLI
    checks this before training, so a bad `-o` does not cost a training run."""
    prefix = Path(prefix)
    try:
        prefix.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise TokenizerError(
            f"cannot write {prefix}.model: cannot make folder {e.filename} ({e.strerror})"
        ) from None
    if not os.access(prefix.parent, os.W_OK):
        raise TokenizerError(f"cannot write {prefix}.model: folder {prefix.parent} is not writable")
    return prefix


# ---------------------------------------------------------------------------------------------------
# Helpers: pair counts, one merge, printable tokens


def get_stats(ids: list[int], counts: dict | None = None) -> dict[tuple[int, int], int]:
    """Count adjacent pairs: [1, 2, 3, 1, 2] -> {(1, 2): 2, (2, 3): 1, (3, 1): 1}."""
    counts = {} if counts is None else counts
    ### BEGIN SOLUTION
    for pair in pairwise(ids):
        counts[pair] = counts.get(pair, 0) + 1
    ### END SOLUTION
    return counts


def merge(ids: list[int], pair: tuple[int, int], idx: int) -> list[int]:
    """Replace every non-overlapping occurrence of `pair`, left to right, by `idx`."""
    out, i, n = [], 0, len(ids)
    a, b = pair
    ### BEGIN SOLUTION
    while i < n:
        if ids[i] == a and i < n - 1 and ids[i + 1] == b:
            out.append(idx)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    ### END SOLUTION
    return out


def render_token(t: bytes) -> str:
    """Bytes -> a printable string: invalid UTF-8 becomes U+FFFD, control characters become \\uXXXX."""
    s = t.decode("utf-8", errors="replace")
    return "".join(ch if unicodedata.category(ch)[0] != "C" else f"\\u{ord(ch):04x}" for ch in s)


# ---------------------------------------------------------------------------------------------------
# The base class: vocabulary, decoding, save/load


class Tokenizer:
    """Byte-level BPE state and everything that does not depend on how text is split or trained."""

    def __init__(self, pattern: str = "") -> None:
        self.pattern = pattern
        self.byte_ids: list[int] = list(range(256))
        self.merges: dict[tuple[int, int], int] = {}
        self.special_tokens: dict[str, int] = {}
        self.vocab = self._build_vocab()

    # -- vocabulary ------------------------------------------------------------------------------

    def _build_vocab(self) -> dict[int, bytes]:
        vocab = {i: bytes([b]) for b, i in enumerate(self.byte_ids)}
        for (a, b), idx in sorted(self.merges.items(), key=lambda kv: kv[1]):
            vocab[idx] = vocab[a] + vocab[b]
        for tok, idx in self.special_tokens.items():
            vocab[idx] = tok.encode("utf-8")
        # bytes -> id of the regular tokens (if two merges spell the same bytes, the earlier one wins)
        specials = set(self.special_tokens.values())
        self._derive({vocab[i]: i for i in sorted(vocab, reverse=True) if i not in specials})
        return vocab

    def _derive(self, token_ids: dict[bytes, int]) -> None:
        self.token_ids = token_ids
        self.inverse_special = {v: k for k, v in self.special_tokens.items()}
        self.bytes_are_ids = self.byte_ids == list(range(256))

    def set_state(self, byte_ids, merges, special_tokens=None) -> None:
        """Install a vocabulary (checked: byte ids a permutation, merges built from known ids)."""
        if sorted(byte_ids) != sorted(set(byte_ids)) or len(byte_ids) != 256:
            raise TokenizerError(
                f"byte_ids must be 256 distinct ids, got {len(byte_ids)} ({len(set(byte_ids))} distinct)"
            )
        known = set(byte_ids)
        for (a, b), idx in sorted(merges.items(), key=lambda kv: kv[1]):
            if a not in known or b not in known or idx in known:
                raise TokenizerError(f"merge ({a}, {b}) -> {idx} uses an unknown id or reuses an id")
            known.add(idx)
        special_tokens = dict(special_tokens or {})
        for tok, idx in special_tokens.items():
            if idx in known:
                raise TokenizerError(f"special token {tok!r} has id {idx}, already used by another token")
            known.add(idx)
        self.byte_ids, self.merges, self.special_tokens = list(byte_ids), dict(merges), special_tokens
        self.vocab = self._build_vocab()

    def fast_state(self) -> tuple:
        """Everything `set_state` builds, as plain data (for a cache: `restore_fast_state` skips the checks
        and the rebuild, so only pass it what `fast_state` returned)."""
        return self.pattern, self.byte_ids, self.merges, self.special_tokens, self.vocab, self.token_ids

    def restore_fast_state(self, state: tuple) -> None:
        self.pattern, self.byte_ids, self.merges, self.special_tokens, self.vocab, token_ids = state
        self._derive(token_ids)

    @property
    def vocab_size(self) -> int:
        """The size of an embedding table for these ids: the largest id + 1 (as tiktoken's n_vocab). More
        than the number of tokens when ids are skipped (cl100k has none at 100261..100275)."""
        return max(self.vocab) + 1

    def register_special_tokens(self, special_tokens: dict[str, int]) -> None:
        """Add special tokens (`{"<|endoftext|>": 100257}`); their ids must be free."""
        self.set_state(self.byte_ids, self.merges, {**self.special_tokens, **special_tokens})

    # -- decoding --------------------------------------------------------------------------------

    def decode_bytes(self, ids) -> bytes:
        """The exact bytes of a sequence of ids (a token may be a fragment of a UTF-8 character)."""
        vocab = self.vocab
        try:
            return b"".join([vocab[i] for i in ids])
        except KeyError:
            pass  # ids of another type (a torch tensor's elements), or an unknown id
        try:
            return b"".join([vocab[int(i)] for i in ids])
        except KeyError as e:
            raise TokenizerError(
                f"token id {e.args[0]!r} is not in the vocabulary (size {len(vocab)})"
            ) from None

    def decode(self, ids) -> str:
        """Text of a sequence of ids; bytes that are not valid UTF-8 become U+FFFD (as in tiktoken)."""
        return self.decode_bytes(ids).decode("utf-8", errors="replace")

    # -- save / load -----------------------------------------------------------------------------

    def save(self, prefix: str | Path) -> Path:
        """Write PREFIX.model (read back by `load`) and PREFIX.vocab (for people). Returns the .model path."""
        prefix = output_prefix(prefix)
        identity = self.byte_ids == list(range(256))
        lines = [FORMAT, f"pattern {json.dumps(self.pattern)}"]
        lines.append("byte_ids " + ("identity" if identity else " ".join(map(str, self.byte_ids))))
        lines.append(f"special {len(self.special_tokens)}")
        lines += [f"{json.dumps(t)} {i}" for t, i in self.special_tokens.items()]
        lines.append(f"merges {len(self.merges)}")
        lines += [f"{a} {b} {i}" for (a, b), i in sorted(self.merges.items(), key=lambda kv: kv[1])]
        model = prefix.with_name(prefix.name + ".model")
        try:
            model.write_text("\n".join(lines) + "\n", encoding="utf-8")
            prefix.with_name(prefix.name + ".vocab").write_text(self.vocab_text(), encoding="utf-8")
        except OSError as e:
            raise TokenizerError(f"cannot write {e.filename}: {e.strerror}") from None
        return model

    def vocab_text(self) -> str:
        """One line per token: `[a][b] -> [ab] id` for merges, `[t] id` for bytes and special tokens."""
        parents = {idx: pair for pair, idx in self.merges.items()}
        out = []
        for idx, tok in sorted(self.vocab.items()):
            if idx in parents:
                a, b = parents[idx]
                out.append(
                    f"[{render_token(self.vocab[a])}][{render_token(self.vocab[b])}] -> "
                    f"[{render_token(tok)}] {idx}"
                )
            else:
                out.append(f"[{render_token(tok)}] {idx}")
        return "\n".join(out) + "\n"

    @classmethod
    def load(cls, path: str | Path):
        """Read a .model file written by `save`; another version or a corrupt file is a TokenizerError."""
        path = Path(path)
        lines = read_text(path, "a .model file written by Tokenizer.save").splitlines()
        if not lines or lines[0] != FORMAT:
            head = lines[0][:40] if lines else "<empty file>"
            raise TokenizerError(
                f"{path}: first line is {head!r}, expected {FORMAT!r} (another version or not a model)"
            )
        try:
            pattern, byte_ids, special, merges = _parse(lines[1:])
            tok = cls.__new__(cls)
            Tokenizer.__init__(tok, pattern)
            tok.set_state(byte_ids, merges, special)
        except (ValueError, IndexError, StopIteration, json.JSONDecodeError) as e:
            raise TokenizerError(f"{path}: corrupt tokenizer file ({str(e) or 'file ends early'})") from None
        tok._after_load()
        return tok

    def _after_load(self) -> None:
        """Subclasses compile what they derive from the state (the split regex, caches)."""


def _parse(lines: list[str]):
    it = iter(enumerate(lines, start=2))

    def field(name: str) -> str:
        n, line = next(it)
        key, _, value = line.partition(" ")
        if key != name:
            raise TokenizerError(f"line {n}: expected {name!r}, got {line[:40]!r}")
        return value

    pattern = json.loads(field("pattern"))
    raw = field("byte_ids")
    byte_ids = list(range(256)) if raw == "identity" else [int(x) for x in raw.split()]
    special = {}
    for _ in range(int(field("special"))):
        n, line = next(it)
        tok, _, idx = line.rpartition(" ")
        special[json.loads(tok)] = int(idx)
    merges = {}
    for _ in range(int(field("merges"))):
        n, line = next(it)
        a, b, idx = (int(x) for x in line.split())
        merges[(a, b)] = idx
    rest = [line for _, line in it if line.strip()]
    if rest:
        raise TokenizerError(f"{len(rest)} unexpected lines after the merges")
    return pattern, byte_ids, special, merges
