"""Byte-level BPE: worked example, the fast trainer against a naive recount, encode paths, save/load,
decode edge cases, special tokens and round-trip properties."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nanozoo.tokenizers import BasicTokenizer, RegexTokenizer, train_bpe
from nanozoo.tokenizers.base import get_stats, merge


def naive_train(chunks: dict[bytes, int], num_merges: int) -> dict[tuple[int, int], int]:
    """minbpe-style: recount every pair after every merge; same tie-break (count, then smallest pair)."""
    seqs = {c: list(c) for c in chunks}
    merges = {}
    for k in range(num_merges):
        stats = {}
        for c, n in chunks.items():
            for p, m in get_stats(seqs[c]).items():
                stats[p] = stats.get(p, 0) + m * n
        if not stats:
            break
        pair = min(stats, key=lambda p: (-stats[p], p))
        merges[pair] = 256 + k
        seqs = {c: merge(s, pair, 256 + k) for c, s in seqs.items()}
    return merges


@pytest.fixture(scope="module")
def trained(shakespeare) -> RegexTokenizer:
    tok = RegexTokenizer("gpt4")
    tok.train(shakespeare[:50_000], 400)
    tok.register_special_tokens({"<|endoftext|>": 400, "<|pad|>": 401})
    return tok


# ---------------------------------------------------------------------------------------------------
# Training


def test_wikipedia_example():
    # https://en.wikipedia.org/wiki/Byte_pair_encoding: aaabdaaabac -> ZabdZabac -> ZYdZYac -> XdXac
    tok = BasicTokenizer()
    tok.train("aaabdaaabac", 256 + 3)
    assert tok.merges == {(97, 97): 256, (97, 98): 257, (256, 257): 258}  # (aa, ab) tie -> smaller pair
    assert tok.encode("aaabdaaabac") == [258, 100, 258, 97, 99]
    assert tok.decode([258, 100, 258, 97, 99]) == "aaabdaaabac"


@pytest.mark.parametrize("pattern", ["gpt2", "gpt4", "none"])
def test_fast_trainer_equals_naive_recount(shakespeare, pattern):
    text = shakespeare[:3000] if pattern == "none" else shakespeare[:20_000]
    chunks = RegexTokenizer(pattern).chunk_counts(text)
    assert train_bpe(chunks, 120) == naive_train(chunks, 120)


def test_progress_bar_does_not_change_the_result(shakespeare):
    chunks = RegexTokenizer("gpt2").chunk_counts(shakespeare[:5000])
    assert train_bpe(chunks, 50, progress=True) == train_bpe(chunks, 50)


def test_trainer_stops_when_no_pair_is_left():
    assert train_bpe({b"ab": 3, b"c": 1}, 10) == {(97, 98): 256}
    with pytest.raises(ValueError, match="num_merges=-1"):
        train_bpe({b"ab": 1}, -1)


def test_vocab_size_below_256_is_refused():
    with pytest.raises(ValueError, match="vocab_size=100"):
        BasicTokenizer().train("hello", 100)


def test_training_is_deterministic(shakespeare):
    a, b = RegexTokenizer("gpt2"), RegexTokenizer("gpt2")
    a.train(shakespeare[:20_000], 300)
    b.train(shakespeare[:20_000], 300)
    assert a.merges == b.merges and len(a.merges) == 44


# ---------------------------------------------------------------------------------------------------
# Encoding


def _rescan_encode(tok, chunk: bytes) -> list[int]:
    ids = [tok.byte_ids[b] for b in chunk]
    while len(ids) >= 2:
        stats = get_stats(ids)
        pair = min(stats, key=lambda p: tok.merges.get(p, float("inf")))
        if pair not in tok.merges:
            break
        ids = merge(ids, pair, tok.merges[pair])
    return ids


def test_long_chunk_heap_merge_equals_rescan(shakespeare):
    tok = BasicTokenizer()
    tok.train(shakespeare[:4000], 320)
    text = shakespeare[10_000:14_000].encode()  # far longer than the heap threshold
    assert tok.encode_chunk(text) == _rescan_encode(tok, text)
    assert tok.decode(tok.encode(shakespeare[10_000:14_000])) == shakespeare[10_000:14_000]


def test_encode_equals_rescan_on_every_chunk(trained, shakespeare, torture):
    for chunk in trained.chunks(shakespeare[60_000:70_000] + "".join(torture)):
        b = chunk.encode()
        assert trained.encode_chunk(b) == _rescan_encode(trained, b), chunk


def test_compression_on_unseen_text(trained, shakespeare):
    text = shakespeare[100_000:110_000]
    ids = trained.encode(text)
    assert len(ids) < 0.6 * len(text.encode())  # 144 merges already halve Shakespeare's bytes


# ---------------------------------------------------------------------------------------------------
# Decoding


def test_decode_invalid_utf8_is_replacement_char(trained):
    # byte 0xE2 alone is the start of a 3-byte character: U+FFFD, like tiktoken
    assert trained.decode([0xE2, ord("a")]) == "\ufffda"
    assert trained.decode_bytes([0xE2, ord("a")]) == b"\xe2a"
    assert trained.decode([]) == ""


def test_decode_unknown_id_is_a_clear_error(trained):
    with pytest.raises(ValueError, match="token id 99999"):
        trained.decode([1, 99999])


# ---------------------------------------------------------------------------------------------------
# Special tokens (tiktoken semantics)


def test_special_tokens(trained):
    text = "hi<|endoftext|>there<|pad|>"
    with pytest.raises(ValueError, match="disallowed"):
        trained.encode(text)
    assert trained.encode(text, allowed_special="all") == (
        trained.encode("hi") + [400] + trained.encode("there") + [401]
    )
    mixed = trained.encode(text, allowed_special={"<|endoftext|>"}, disallowed_special=())
    assert mixed[-len(trained.encode_ordinary("<|pad|>")) :] == trained.encode_ordinary("<|pad|>")
    assert 400 in mixed and 401 not in mixed
    assert trained.encode(text, disallowed_special=()) == trained.encode_ordinary(text)
    assert trained.decode(trained.encode(text, allowed_special="all")) == text
    with pytest.raises(ValueError, match="not special tokens"):
        trained.encode("x", allowed_special={"<|nope|>"})
    with pytest.raises(ValueError, match="already used"):
        trained.register_special_tokens({"<|bad|>": 300})


# ---------------------------------------------------------------------------------------------------
# Save / load


def test_save_load_round_trip(trained, tmp_path, shakespeare):
    model = trained.save(tmp_path / "tok")
    assert model.read_text().splitlines()[0] == "nanozoo-bpe v1"
    vocab = (tmp_path / "tok.vocab").read_text().splitlines()
    assert len(vocab) == trained.vocab_size == 402 and vocab[256] == "[ ][t] -> [ t] 256"
    back = RegexTokenizer.load(model)
    assert back.merges == trained.merges and back.special_tokens == trained.special_tokens
    assert back.pattern == trained.pattern and back.byte_ids == trained.byte_ids
    text = shakespeare[70_000:75_000]
    assert back.encode(text) == trained.encode(text)


def test_basic_refuses_a_file_with_a_pattern(trained, tmp_path):
    with pytest.raises(ValueError, match="split pattern"):
        BasicTokenizer.load(trained.save(tmp_path / "tok"))
    basic = BasicTokenizer()
    basic.train("hello hello world", 260)
    assert BasicTokenizer.load(basic.save(tmp_path / "b")).merges == basic.merges


def test_load_refuses_other_versions_and_corrupt_files(trained, tmp_path):
    model = trained.save(tmp_path / "tok")
    lines = model.read_text().splitlines()
    cases = {
        "v2": ["nanozoo-bpe v2", *lines[1:]],
        "empty": [],
        "truncated": lines[:-10],
        "garbage": [*lines[:-1], "1 2 x"],
        "bad_id": [*lines[:-1], "1 999999 300"],
    }
    for name, content in cases.items():
        p = tmp_path / f"{name}.model"
        p.write_text("\n".join(content) + "\n")
        with pytest.raises(ValueError, match="version|corrupt|unknown id"):
            RegexTokenizer.load(p)


# ---------------------------------------------------------------------------------------------------
# Round-trip properties

TEXT = st.one_of(
    st.text(max_size=200),  # arbitrary unicode (hypothesis leaves surrogates out)
    st.text(alphabet=" \t\n\r0123456789", max_size=200),  # runs of whitespace and digits
    st.builds(lambda n, s: " " * n + s + " " * n, st.integers(0, 40), st.text(max_size=20)),
)


@settings(max_examples=150, deadline=None)
@given(TEXT)
def test_round_trip_regex(trained, s):
    assert trained.decode(trained.encode_ordinary(s)) == s


@settings(max_examples=100, deadline=None)
@given(TEXT)
def test_round_trip_basic(s):
    tok = _basic()
    assert tok.decode(tok.encode(s)) == s


_BASIC = []


def _basic() -> BasicTokenizer:
    if not _BASIC:
        tok = BasicTokenizer()
        tok.train("hello world, the quick brown fox; hello hello 123 123 🤗🤗" * 3, 300)
        _BASIC.append(tok)
    return _BASIC[0]


@settings(max_examples=300, deadline=None)
@given(st.one_of(TEXT, st.text(alphabet=" \n\r\tab1'é.-", max_size=60)))
def test_fast_split_patterns_equal_tiktokens(s):
    # the possessive-free patterns that encode runs (regex.EQUIVALENT) split exactly like tiktoken's
    import regex

    from nanozoo.tokenizers.regex import EQUIVALENT

    for pattern, fast in EQUIVALENT.items():
        assert regex.findall(fast, s) == regex.findall(pattern, s)
