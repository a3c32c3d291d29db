"""A character-level tokenizer: one id per distinct character of the training text, sorted.

The tokenizer of nanoGPT's shakespeare-char and of makemore. Saved as JSON (`{"format": 1, "chars": ...}`).
"""

from __future__ import annotations

import json
from pathlib import Path

from nanozoo.tokenizers.base import TokenizerError

FORMAT_VERSION = 1


class CharTokenizer:
    def __init__(self, chars: str | list[str]):
        chars = list(chars)
        if not chars:
            raise TokenizerError("a character tokenizer needs at least one character")
        if len(set(chars)) != len(chars):
            raise TokenizerError("the character list has duplicates")
        self.chars = chars
        self.stoi = {c: i for i, c in enumerate(chars)}

    @classmethod
    def from_text(cls, text: str) -> CharTokenizer:
        return cls(sorted(set(text)))

    def __len__(self) -> int:
        return len(self.chars)

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> list[int]:
        try:
            return [self.stoi[c] for c in text]
        except KeyError:
            pos = next(i for i, c in enumerate(text) if c not in self.stoi)
            raise TokenizerError(
                f"character {text[pos]!r} at position {pos} is not in the vocabulary "
                f"of {len(self)} characters"
            ) from None

    def decode(self, ids) -> str:
        try:
            return "".join(self.chars[int(i)] for i in ids)
        except IndexError:
            bad = next(int(i) for i in ids if not 0 <= int(i) < len(self))
            raise TokenizerError(f"token id {bad} is outside the vocabulary (0..{len(self) - 1})") from None

    def save(self, path: str | Path) -> None:
        from nanozoo.core.atomic import atomic_write

        atomic_write(
            path, json.dumps({"format": FORMAT_VERSION, "type": "char", "chars": "".join(self.chars)})
        )

    @classmethod
    def load(cls, path: str | Path) -> CharTokenizer:
        try:
            doc = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as e:
            raise TokenizerError(f"cannot read character tokenizer {path}: {e}") from None
        if not isinstance(doc, dict) or doc.get("type") != "char" or doc.get("format") != FORMAT_VERSION:
            raise TokenizerError(f"{path} is not a nanozoo character tokenizer (format {FORMAT_VERSION})")
        return cls(doc["chars"])
