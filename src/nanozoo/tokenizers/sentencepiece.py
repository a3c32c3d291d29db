"""SentencePiece BPE, as Llama 2 uses it: read its `tokenizer.model`, encode and decode exactly as the
`sentencepiece` library does, write `.model` files that library loads, and train one of our own.

SentencePiece (Kudo & Richardson 2018) differs from GPT-2's byte-level BPE in three ways:
1. the unit is the Unicode character, not the byte. A character that is not in the vocabulary falls back to
   its UTF-8 bytes, each a piece of its own (`<0xE2>`), when the model has byte fallback (Llama does);
   otherwise it is `<unk>`;
2. a space is a character like any other, written `▁` (U+2581), and a `▁` is put before the text (the
   "dummy prefix"), so "Hello world" is "▁Hello▁world" and no regex splits the text first;
3. there is no merge list: each piece has a score, and encoding merges, again and again, the adjacent pair
   whose concatenation is a piece with the highest score (ties: the leftmost pair). For a model trained by
   BPE the score is minus the merge's rank, so this is BPE's "earliest merge first".

The `.model` file is a protobuf `ModelProto` (sentencepiece_model.proto); the fields read here:

    ModelProto      1: repeated SentencePiece pieces   2: TrainerSpec   3: NormalizerSpec
    SentencePiece   1: piece (string)   2: score (float)   3: type (1 normal, 2 unknown, 3 control,
                    4 user defined, 5 unused, 6 byte)
    TrainerSpec     3: model_type (1 unigram, 2 bpe)   4: vocab_size   35: byte_fallback
                    40 unk_id, 41 bos_id, 42 eos_id, 43 pad_id   44: unk_surface
    NormalizerSpec  1: name   2: precompiled_charsmap   3: add_dummy_prefix   4: remove_extra_whitespaces
                    5: escape_whitespaces
"""

from __future__ import annotations

import heapq
import re
import struct
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from nanozoo.core.atomic import atomic_write
from nanozoo.tokenizers import protobuf
from nanozoo.tokenizers.base import TokenizerError
from nanozoo.tokenizers.train import train_bpe

SPACE = "\u2581"  # ▁
NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6
BPE = 2
UNK_SURFACE = " \u2047 "  # " ⁇ ", what sentencepiece prints for <unk>
_BYTE_PIECE = re.compile(r"<0x([0-9A-F]{2})>")


@dataclass
class SentencePieceBPE:
    """A SentencePiece BPE model: its pieces (id = index), their scores and types, and how text is
    normalised before encoding."""

    pieces: list[str]
    scores: list[float]
    types: list[int]
    byte_fallback: bool = True
    add_dummy_prefix: bool = True
    remove_extra_whitespaces: bool = False
    unk_surface: str = UNK_SURFACE
    ids: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not (len(self.pieces) == len(self.scores) == len(self.types)):
            raise TokenizerError("pieces, scores and types must have the same length")
        # the pieces that merges may form: normal, user-defined and unused (sentencepiece's `pieces_`);
        # unknown, control and byte pieces are looked up separately and never formed by a merge
        self.ids = {}
        self.reserved: dict[str, int] = {}
        for i, (p, t) in enumerate(zip(self.pieces, self.types, strict=True)):
            (self.ids if t in (NORMAL, USER_DEFINED, UNUSED) else self.reserved).setdefault(p, i)
        unk = [i for i, t in enumerate(self.types) if t == UNKNOWN]
        if len(unk) != 1:
            raise TokenizerError(f"a SentencePiece model needs exactly one <unk> piece, found {len(unk)}")
        self.unk_id = unk[0]
        self.byte_ids = {}
        for i, (p, t) in enumerate(zip(self.pieces, self.types, strict=True)):
            if t == BYTE:
                m = _BYTE_PIECE.fullmatch(p)
                if m is None:
                    raise TokenizerError(f"byte piece {i} is {p!r}, expected the form <0xAB>")
                self.byte_ids[int(m.group(1), 16)] = i
        if self.byte_fallback and len(self.byte_ids) != 256:
            raise TokenizerError(f"byte fallback needs 256 byte pieces, the model has {len(self.byte_ids)}")
        # id -> the bytes it stands for (a byte piece its byte, a control piece nothing), like Tokenizer.vocab
        self.vocab = [
            bytes([int(p[3:5], 16)]) if t == BYTE else b"" if t == CONTROL else p.replace(SPACE, " ").encode()
            for p, t in zip(self.pieces, self.types, strict=True)
        ]
        self.user_defined = sorted((p for p, i in self.ids.items() if self.types[i] == USER_DEFINED), key=len)

    @property
    def vocab_size(self) -> int:
        return len(self.pieces)

    def piece_id(self, piece: str) -> int:
        return self.reserved.get(piece, self.ids.get(piece, self.unk_id))

    @property
    def bos_id(self) -> int:
        return self.reserved.get("<s>", -1)

    @property
    def eos_id(self) -> int:
        return self.reserved.get("</s>", -1)

    # -- encoding ---------------------------------------------------------------------------------

    def normalize(self, text: str) -> str:
        """Spaces to ▁, and the dummy prefix (the identity normaliser of Llama 2: no NFKC)."""
        if self.remove_extra_whitespaces:
            text = " ".join(text.strip(" ").split(" "))
            text = re.sub(" +", " ", text)
        if not text:
            return ""
        text = text.replace(" ", SPACE)
        return SPACE + text if self.add_dummy_prefix else text

    def _symbols(self, text: str) -> list[str]:
        """The text as one symbol a character, a user-defined piece as one symbol."""
        out, i = [], 0
        while i < len(text):
            match = next((p for p in reversed(self.user_defined) if text.startswith(p, i)), None)
            out.append(match or text[i])
            i += len(out[-1])
        return out

    def encode_pieces(self, text: str) -> list[str]:
        """The pieces of `text` before byte fallback (an unknown character stays a piece of its own)."""
        symbols = self._symbols(self.normalize(text))
        frozen = [s in self.user_defined for s in symbols]
        nxt = list(range(1, len(symbols))) + [-1]
        prv = list(range(-1, len(symbols) - 1))
        heap: list[tuple[float, int, int, str]] = []

        def push(left: int, right: int) -> None:
            if left < 0 or right < 0 or frozen[left] or frozen[right]:
                return
            merged = symbols[left] + symbols[right]
            i = self.ids.get(merged)
            if i is not None:
                heapq.heappush(heap, (-self.scores[i], left, right, merged))

        for i in range(len(symbols) - 1):
            push(i, i + 1)
        ### BEGIN SOLUTION
        while heap:
            _, left, right, merged = heapq.heappop(heap)
            if nxt[left] != right or symbols[left] + symbols[right] != merged:
                continue  # stale: one side was merged into something else since this pair was pushed
            symbols[left], symbols[right] = merged, ""
            nxt[left] = nxt[right]
            if nxt[right] >= 0:
                prv[nxt[right]] = left
            push(prv[left], left)
            push(left, nxt[left])
        ### END SOLUTION
        return [s for s in symbols if s]

    def encode(self, text: str, bos: bool = False, eos: bool = False) -> list[int]:
        """Token ids of `text`, as `SentencePieceProcessor.encode(text, add_bos=bos, add_eos=eos)`."""
        ids = [self.bos_id] if bos else []
        for piece in self.encode_pieces(text):
            i = self.piece_id(piece)
            if i == self.unk_id and self.byte_fallback:
                try:
                    ids.extend(self.byte_ids[b] for b in piece.encode("utf-8"))
                except UnicodeEncodeError:
                    bad = f"U+{ord(piece[0]):04X}"
                    raise TokenizerError(f"the text holds {bad}, a lone surrogate: not UTF-8") from None
            else:
                ids.append(i)
        if eos:
            ids.append(self.eos_id)
        return ids

    # -- decoding ---------------------------------------------------------------------------------

    def decode(self, ids: list[int]) -> str:
        """Text of `ids`, as `SentencePieceProcessor.decode`: control pieces vanish, `<unk>` is " ⁇ ", runs
        of byte pieces are decoded as UTF-8 (a byte that is not valid UTF-8 is U+FFFD), ▁ is a space, and
        the leading space of the first piece (the dummy prefix) is dropped."""
        out: list[str] = []
        pending = bytearray()
        first = True

        def text_of(piece: str) -> str:
            nonlocal first
            if first and self.add_dummy_prefix and piece.startswith(SPACE):
                piece = piece[1:]
            first = False
            return piece.replace(SPACE, " ")

        def flush() -> None:
            if pending:
                out.append(text_of(_decode_bytes(pending)))
                pending.clear()

        for i in ids:
            if not 0 <= i < len(self.pieces):
                raise TokenizerError(f"token id {i} is out of range (vocabulary of {len(self.pieces)})")
            t = self.types[i]
            if t == BYTE:
                pending.append(int(self.pieces[i][3:5], 16))
                continue
            flush()
            if t == CONTROL:
                continue
            out.append(self.unk_surface if t == UNKNOWN else text_of(self.pieces[i]))
            if t == UNKNOWN:
                first = False
        flush()
        return "".join(out)

    # -- files ------------------------------------------------------------------------------------

    def to_bytes(self) -> bytes:
        """A `ModelProto` that sentencepiece loads (BPE, identity normaliser)."""
        pieces = [
            protobuf.encode_fields([(1, p), (2, float(s)), (3, t)])
            for p, s, t in zip(self.pieces, self.scores, self.types, strict=True)
        ]
        trainer = protobuf.encode_fields(
            [(3, BPE), (4, len(self.pieces)), (35, self.byte_fallback), (40, self.unk_id),
             (41, self.bos_id), (42, self.eos_id), (43, -1), (44, self.unk_surface)]
        )  # fmt: skip
        normalizer = protobuf.encode_fields(
            [(1, "identity"), (3, self.add_dummy_prefix), (4, self.remove_extra_whitespaces), (5, True)]
        )
        return protobuf.encode_fields([*((1, p) for p in pieces), (2, trainer), (3, normalizer)])

    def save(self, path: str | Path) -> Path:
        """Write the model as a sentencepiece `.model` file (atomically)."""
        path = Path(path)
        atomic_write(path, self.to_bytes())
        return path


def _decode_bytes(data: bytes) -> str:
    """UTF-8 as sentencepiece decodes byte pieces: a byte that does not start a valid character is one
    U+FFFD (Python's `errors="replace"` gives one U+FFFD per broken sequence instead)."""
    out, i = [], 0
    while i < len(data):
        for size in (1, 2, 3, 4):  # the shortest prefix that decodes is the whole character
            try:
                out.append(data[i : i + size].decode("utf-8"))
                break
            except UnicodeDecodeError:
                pass
        else:
            out.append("\ufffd")
            size = 1
        i += size
    return "".join(out)


def from_bytes(data: bytes, where: str = "the model") -> SentencePieceBPE:
    """A SentencePiece BPE model from the bytes of a `.model` file."""
    try:
        model = protobuf.decode(data)
        raw_pieces = [protobuf.decode(p) for p in model.get(1, [])]
        trainer = protobuf.decode(model[2][-1]) if 2 in model else {}
        normalizer = protobuf.decode(model[3][-1]) if 3 in model else {}
        pieces = [p[1][-1].decode("utf-8") for p in raw_pieces]
    except (protobuf.ProtobufError, KeyError, UnicodeDecodeError) as e:
        raise TokenizerError(f"{where} is not a SentencePiece model ({e})") from None
    if not pieces:
        raise TokenizerError(f"{where} is not a SentencePiece model (no pieces)")
    model_type = trainer.get(3, [1])[-1]
    if model_type != BPE:
        kind = {1: "unigram", 3: "word", 4: "char"}.get(model_type, str(model_type))
        raise TokenizerError(f"{where} is a SentencePiece {kind} model; only BPE models are supported")
    charsmap = normalizer.get(2, [b""])[-1]
    if charsmap:
        raise TokenizerError(f"{where} normalises with a character map (NFKC); only identity is supported")
    flag = lambda spec, number, default: bool(spec.get(number, [default])[-1])
    surface = trainer.get(44, [UNK_SURFACE.encode()])[-1].decode("utf-8")
    return SentencePieceBPE(
        pieces=pieces,
        scores=[protobuf.as_float(p[2][-1]) if 2 in p else 0.0 for p in raw_pieces],
        types=[p.get(3, [NORMAL])[-1] for p in raw_pieces],
        byte_fallback=flag(trainer, 35, False),
        add_dummy_prefix=flag(normalizer, 3, True),
        remove_extra_whitespaces=flag(normalizer, 4, True),
        unk_surface=surface,
    )


def load(path: str | Path) -> SentencePieceBPE:
    """A SentencePiece BPE model from a `.model` file (Llama 2's `tokenizer.model`, or one `save` wrote)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise TokenizerError(f"{path}: no such file (expected a SentencePiece .model file)") from None
    except IsADirectoryError:
        raise TokenizerError(f"{path} is a directory, not a SentencePiece .model file") from None
    return from_bytes(data, where=str(path))


# ---------------------------------------------------------------------------------------------------
# llama2.c's tokenizer.bin: int32 max_token_length, then per piece float32 score, int32 length, bytes


def to_llama2c(model: SentencePieceBPE) -> bytes:
    """The model as llama2.c's `tokenizer.bin` (what its `tokenizer.py export` writes): ▁ as a space,
    `<s>` and `</s>` written as "\\n<s>\\n" and "\\n</s>\\n"."""
    tokens = []
    for i, piece in enumerate(model.pieces):
        if i == model.bos_id:
            piece = "\n<s>\n"
        elif i == model.eos_id:
            piece = "\n</s>\n"
        tokens.append(piece.replace(SPACE, " ").encode("utf-8"))
    out = [struct.pack("<I", max(map(len, tokens)))]
    for raw, score in zip(tokens, model.scores, strict=True):
        out.append(struct.pack("<fI", score, len(raw)) + raw)
    return b"".join(out)


def read_llama2c(path: str | Path, vocab_size: int) -> tuple[list[bytes], list[float]]:
    """The pieces (as bytes) and scores of a llama2.c `tokenizer.bin` of `vocab_size` pieces (the file does
    not say its size: llama2.c takes it from the checkpoint's header)."""
    data = Path(path).read_bytes()
    pieces, scores, i = [], [], 4
    try:
        for _ in range(vocab_size):
            score, size = struct.unpack_from("<fI", data, i)
            pieces.append(data[i + 8 : i + 8 + size])
            scores.append(score)
            i += 8 + size
    except struct.error:
        raise TokenizerError(
            f"{path} holds fewer than {vocab_size} tokens (llama2.c tokenizer.bin?)"
        ) from None
    if i > len(data):
        raise TokenizerError(f"{path} is truncated (a llama2.c tokenizer.bin of {vocab_size} tokens?)")
    return pieces, scores


# ---------------------------------------------------------------------------------------------------
# Training: BPE over characters, words split at ▁, pieces scored by merge rank


def _script(ch: str) -> str:
    """The Unicode script of a character, as near as `unicodedata` tells it: the first word of a letter's
    name ("LATIN", "CYRILLIC"; Han, Hiragana and Katakana as one, as sentencepiece does), "digit", and
    "common" for punctuation, symbols and spaces. A combining mark takes the script of what it follows."""
    cat = unicodedata.category(ch)
    if cat[0] == "N":
        return "digit"
    if cat[0] != "L":
        return "mark" if cat[0] == "M" else "common"
    word = unicodedata.name(ch, "UNKNOWN").split()[0]
    return "han" if word in ("CJK", "HIRAGANA", "KATAKANA") else word


def _pieces_may_span(word: str, kept: set[str]) -> list[str]:
    """`word` cut where no piece may cross (sentencepiece's `IsValidSentencePiece` with Llama's settings,
    split_by_unicode_script and split_digits): at a change of script, around each digit, and around a
    character that is not kept. A leading ▁ joins what follows it."""
    parts: list[str] = []
    prev = None
    for i, ch in enumerate(word):
        script = "space" if ch == SPACE and i == 0 else _script(ch)
        if ch not in kept:
            parts.append("")  # a cut on each side; the character itself falls back to bytes
            prev = None
            continue
        joins = prev is not None and (script == prev or script == "mark" or prev == "space")
        if joins and script != "digit":
            parts[-1] += ch
        else:
            parts.append(ch)
        if script != "mark":
            prev = "common" if prev == "space" and script == "space" else script
    return [p for p in parts if p]


def train(
    text: str,
    vocab_size: int,
    byte_fallback: bool = True,
    character_coverage: float = 0.9995,
) -> SentencePieceBPE:
    """Train a SentencePiece-style BPE on `text` (one sentence a line).

    The vocabulary is laid out as sentencepiece lays out Llama's: `<unk>`, `<s>`, `</s>`, the 256 byte
    pieces (with byte fallback), the merged pieces in merge order (score -rank), then the characters, most
    frequent first. Words are split before each ▁ (a piece never holds a ▁ past its start); the characters
    kept are the most frequent ones covering `character_coverage` of the text, the others fall back to
    bytes (or `<unk>`). Merges are learned by `train_bpe` (ties: the smallest pair of character ranks).
    """
    meta = ["<unk>", "<s>", "</s>"]
    base = [f"<0x{b:02X}>" for b in range(256)] if byte_fallback else []
    normalizer = SentencePieceBPE(meta, [0.0] * 3, [UNKNOWN, CONTROL, CONTROL], byte_fallback=False)
    words: Counter[str] = Counter()
    for line in text.splitlines():
        words.update(re.findall(f"{SPACE}[^{SPACE}]*|[^{SPACE}]+", normalizer.normalize(line)))
    chars: Counter[str] = Counter()
    for w, c in words.items():
        for ch in w:
            chars[ch] += c
    total, kept, covered = sum(chars.values()), [], 0
    for ch, c in sorted(chars.items(), key=lambda kv: (-kv[1], kv[0])):
        if kept and covered / total >= character_coverage:
            break
        kept.append(ch)
        covered += c
    num_merges = vocab_size - len(meta) - len(base) - len(kept)
    if num_merges < 0:
        raise TokenizerError(
            f"vocab_size={vocab_size} is smaller than the {len(meta) + len(base) + len(kept)} pieces that "
            f"the meta pieces, bytes and {len(kept)} characters need"
        )
    rank = {ch: i for i, ch in enumerate(kept)}
    chunks: Counter[tuple[int, ...]] = Counter()
    for w, c in words.items():
        for part in _pieces_may_span(w, set(kept)):
            chunks[tuple(rank[ch] for ch in part)] += c
    merges = train_bpe(chunks.items(), num_merges, first_id=len(kept))
    spelled = dict(enumerate(kept))
    for (a, b), new in sorted(merges.items(), key=lambda kv: kv[1]):
        spelled[new] = spelled[a] + spelled[b]
    # two merges can spell the same string ("ab"+"c", "a"+"bc"): a piece is listed once, at its first merge
    merged = list(dict.fromkeys(spelled[i] for i in sorted(merges.values())))
    pieces = meta + base + merged + kept
    n = len(merged)
    scores = [0.0] * (len(meta) + len(base)) + [-float(i) for i in range(n + len(kept))]
    types = [UNKNOWN, CONTROL, CONTROL] + [BYTE] * len(base) + [NORMAL] * (n + len(kept))
    return SentencePieceBPE(pieces, scores, types, byte_fallback=byte_fallback)
