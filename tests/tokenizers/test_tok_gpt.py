"""GPT-2 and GPT-4 (cl100k) vocabularies: token-for-token parity with tiktoken's own encodings (built by
`tiktoken_ext.openai_public` from the data mirror), merge recovery from the real cl100k ranks, and byte
permutation on ranks we train and export as `.tiktoken`."""

import base64
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nanozoo import data
from nanozoo.tokenizers import GPT4_SPLIT_PATTERN, RegexTokenizer, from_tiktoken_file, load, save_tiktoken
from nanozoo.tokenizers.gpt import load_tiktoken_ranks, recover_merges

# name in our catalogue -> tiktoken's encoding
PAIRS = {"gpt2": "gpt2", "cl100k": "cl100k_base"}


@pytest.fixture(scope="module", params=list(PAIRS))
def pair(request, tiktoken_encoding):
    return load(request.param, download=False), tiktoken_encoding(PAIRS[request.param])


@pytest.fixture(scope="module")
def gpt2_pair(tiktoken_encoding):
    return load("gpt2", download=False), tiktoken_encoding("gpt2")


@pytest.fixture(scope="module")
def tiktoken_mod(need):
    return need("tiktoken"), need("tiktoken.load")


def test_pattern_and_special_tokens_are_tiktokens(pair):
    ours, ref = pair
    assert ours.pattern == ref._pat_str
    assert ours.special_tokens == ref._special_tokens
    assert ours.vocab_size == ref.n_vocab


def test_parity_shakespeare(pair, shakespeare):
    ours, ref = pair
    assert ours.encode_ordinary(shakespeare) == ref.encode_ordinary(shakespeare)  # gpt2: 338,025 tokens


def test_parity_torture(pair, torture):
    ours, ref = pair
    for s in torture:
        assert ours.encode(s) == ref.encode(s), repr(s)
        assert ours.decode(ours.encode(s)) == s


def test_special_tokens_like_tiktoken(pair):
    ours, ref = pair
    specials = sorted(ref.special_tokens_set)
    text = "a" + "b ".join(specials) + "<|endoftext|>c"
    with pytest.raises(ValueError, match="disallowed"):
        ours.encode(text)
    with pytest.raises(ValueError):
        ref.encode(text)
    assert ours.encode(text, allowed_special="all") == ref.encode(text, allowed_special="all")
    assert ours.encode(text, disallowed_special=()) == ref.encode(text, disallowed_special=())
    one = {specials[0]}
    assert ours.encode(text, allowed_special=one, disallowed_special=()) == ref.encode(
        text, allowed_special=one, disallowed_special=()
    )


@settings(max_examples=100, deadline=None)
@given(
    ids=st.lists(st.integers(0, 100255), max_size=30),
    s=st.one_of(st.text(max_size=100), st.text(alphabet=" \t\n\r0123456789x'", max_size=100)),
)
def test_decode_any_ids_and_round_trip(pair, ids, s):
    ours, ref = pair
    ids = [i % ours.vocab_size for i in ids]  # any id of the vocabulary (gpt2: its special token too)
    assert ours.decode_bytes(ids) == ref.decode_bytes(ids)
    assert ours.decode(ids) == ref.decode(ids)  # invalid UTF-8 -> U+FFFD in both
    assert ours.encode_ordinary(s) == ref.encode_ordinary(s)
    assert ours.decode(ours.encode_ordinary(s)) == s


def test_recovered_gpt2_merges_equal_vocab_bpe(gpt2_pair):
    # minbpe's merge recovery, applied to GPT-2's ranks, gives back the merges GPT-2 ships
    ours, _ = gpt2_pair
    ranks = {t: i for i, t in ours.vocab.items() if i != 50256}
    byte_ids, merges = recover_merges(ranks)
    assert byte_ids == ours.byte_ids and byte_ids != list(range(256))
    assert merges == ours.merges


def test_gpt4_merges_recovered_from_the_real_ranks(tiktoken_encoding):
    ref = tiktoken_encoding("cl100k_base")
    ranks = ref._mergeable_ranks
    byte_ids, merges = recover_merges(ranks)
    assert len(ranks) == 100256 and len(merges) == 100256 - 256
    assert byte_ids == [ranks[bytes([b])] for b in range(256)] and byte_ids != list(range(256))
    tok = RegexTokenizer(ref._pat_str)
    tok.set_state(byte_ids, merges, ref._special_tokens)
    assert {t: i for t, i in tok.token_ids.items()} == ranks  # every token's bytes at its rank
    # by hand: rank 256 is the first merge, two spaces; " the" is " " + "the" or " t" + "he", both lower
    assert tok.vocab[256] == b"  " and merges[(byte_ids[32], byte_ids[32])] == 256
    a, b = next(pair for pair, i in merges.items() if i == ranks[b" the"])
    assert tok.vocab[a] + tok.vocab[b] == b" the" and max(a, b) < ranks[b" the"]


def test_cl100k_missing_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("NANOZOO_DATA", str(tmp_path))
    monkeypatch.setenv("NANOZOO_CACHE", str(tmp_path))
    with pytest.raises(data.DataError, match="cl100k_base.tiktoken"):
        load("cl100k", data_dir=tmp_path, download=False)


# ---------------------------------------------------------------------------------------------------
# .tiktoken export of ranks we train: recovery, byte permutation, parity with tiktoken


@pytest.fixture(scope="module")
def trained(shakespeare):
    tok = RegexTokenizer("gpt4")
    tok.train(shakespeare[:100_000], 700)
    return tok


@pytest.fixture(scope="module")
def make_ref(tiktoken_mod):
    """tiktoken on ranks we wrote ourselves (no published encoding to take a pattern from)."""
    tiktoken, tiktoken_load = tiktoken_mod

    def make(path, special=None):
        ranks = tiktoken_load.load_tiktoken_bpe(str(path))
        return tiktoken.Encoding(
            name="trained", pat_str=GPT4_SPLIT_PATTERN, mergeable_ranks=ranks, special_tokens=special or {}
        )

    return make


def test_trained_ranks_round_trip_through_tiktoken(trained, make_ref, tmp_path, shakespeare, torture):
    path = save_tiktoken(trained, tmp_path / "mine.tiktoken")
    back = from_tiktoken_file(path, special_tokens={})
    assert back.merges == trained.merges and back.byte_ids == list(range(256))  # merges recovered exactly
    assert load(str(path)).merges == trained.merges  # load() takes a .tiktoken path too
    ref = make_ref(path)
    text = shakespeare[200_000:300_000]
    assert trained.encode_ordinary(text) == ref.encode_ordinary(text)
    for s in torture:
        assert trained.encode_ordinary(s) == ref.encode_ordinary(s), repr(s)


def test_byte_permutation(trained, make_ref, tmp_path, shakespeare, torture):
    # give the 256 single bytes shuffled ranks, as in cl100k: only the ids of bytes change
    ranks = load_tiktoken_ranks(save_tiktoken(trained, tmp_path / "a.tiktoken"))
    perm = list(range(256))
    random.Random(0).shuffle(perm)
    for b in range(256):
        ranks[bytes([b])] = perm[b]
    path = tmp_path / "perm.tiktoken"
    path.write_bytes(
        b"".join(base64.b64encode(t) + b" %d\n" % r for t, r in sorted(ranks.items(), key=lambda kv: kv[1]))
    )
    ours = from_tiktoken_file(path, special_tokens={"<|endoftext|>": 700})
    assert ours.byte_ids == perm
    ref = make_ref(path, {"<|endoftext|>": 700})
    text = shakespeare[300_000:330_000] + "".join(torture)
    assert ours.encode(text) == ref.encode(text)
    assert ours.decode(ours.encode(text)) == text
    s = "x<|endoftext|>y"
    assert ours.encode(s, allowed_special="all") == ref.encode(s, allowed_special="all")


def test_bad_tiktoken_file_is_a_clear_error(tmp_path):
    p = tmp_path / "bad.tiktoken"
    p.write_bytes(b"YQ== 0\nnot-base64!! 1\n")
    with pytest.raises(ValueError, match="bad.tiktoken:2"):
        load_tiktoken_ranks(p)
    p.write_bytes(b"YQ== 0\n")
    with pytest.raises(ValueError, match="single byte"):
        from_tiktoken_file(p)


def test_gpt2_save_load_keeps_byte_permutation(gpt2_pair, tmp_path, torture):
    ours, ref = gpt2_pair
    back = load(str(ours.save(tmp_path / "gpt2")))
    assert back.byte_ids == ours.byte_ids and back.special_tokens == {"<|endoftext|>": 50256}
    text = "".join(torture)
    assert back.encode(text) == ref.encode(text)
    assert "[Hello] 15496" in (tmp_path / "gpt2.vocab").read_text()


def test_parsed_vocabulary_cache_equals_a_fresh_parse(tmp_path, monkeypatch, torture):
    from nanozoo.tokenizers import gpt

    monkeypatch.setenv("NANOZOO_CACHE", str(tmp_path))
    fresh = gpt.from_gpt2_files(data.path("gpt2_bpe", "encoder.json"), data.path("gpt2_bpe", "vocab.bpe"))
    gpt.gpt2()  # parses and writes the cache
    (cache,) = (tmp_path / "tokenizers").iterdir()
    with monkeypatch.context() as m:  # the second call must read the cache, not parse again
        m.setattr(gpt, "from_gpt2_files", lambda *a: pytest.fail("parsed again despite the cache"))
        cached = gpt.gpt2()
    assert cached.fast_state() == fresh.fast_state()
    assert (cached.inverse_special, cached.bytes_are_ids) == (fresh.inverse_special, fresh.bytes_are_ids)
    text = "\n".join(torture)
    assert cached.encode(text, allowed_special="all") == fresh.encode(text, allowed_special="all")
    cache.write_bytes(cache.read_bytes()[:1000])  # a truncated cache is parsed again and rewritten
    assert gpt.gpt2().fast_state() == fresh.fast_state()
    assert cache.stat().st_size > 1000


def test_an_unwritable_cache_is_skipped(tmp_path, monkeypatch):
    from nanozoo.tokenizers import gpt

    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("NANOZOO_CACHE", str(blocker))  # cache_dir()/tokenizers cannot be made
    assert gpt.gpt2().encode("Hello world") == [15496, 995]
