"""Llama 2's SentencePiece BPE: our reader, encoder and decoder against the `sentencepiece` library, the
llama2.c tokenizer.bin, and our own SentencePiece-style trainer (its files load in the library)."""

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nanozoo.tokenizers import TokenizerError, load, protobuf
from nanozoo.tokenizers import sentencepiece as sp


@pytest.fixture(scope="module")
def spm(need):
    return need("sentencepiece")


@pytest.fixture(scope="module")
def llama_file(need_data):
    return need_data("llama2_tokenizer", "tokenizer.model")


@pytest.fixture(scope="module")
def pair(spm, llama_file):
    """(ours, the library's) on Llama 2's tokenizer.model."""
    return sp.load(llama_file), spm.SentencePieceProcessor(model_file=str(llama_file))


def test_every_piece_score_and_type_read_as_the_library_reads_them(pair):
    ours, ref = pair
    assert ours.vocab_size == ref.vocab_size() == 32000
    assert ours.pieces == [ref.id_to_piece(i) for i in range(32000)]
    assert ours.scores == [ref.get_score(i) for i in range(32000)]
    assert [t == sp.BYTE for t in ours.types] == [ref.is_byte(i) for i in range(32000)]
    assert [t == sp.CONTROL for t in ours.types] == [ref.is_control(i) for i in range(32000)]
    assert (ours.unk_id, ours.bos_id, ours.eos_id) == (ref.unk_id(), ref.bos_id(), ref.eos_id()) == (0, 1, 2)
    assert ours.byte_fallback and ours.add_dummy_prefix and not ours.remove_extra_whitespaces


def test_encode_and_decode_equal_the_library_on_the_torture_list(pair, torture):
    ours, ref = pair
    extra = ["\U0001f9ec\U000e0001 rare: \u16a0\u16a1 \U00010348", "<s> not a control token </s>"]
    for text in torture + extra:
        ids = ref.encode(text)
        assert ours.encode(text) == ids, text
        assert ours.decode(ids) == ref.decode(ids) == text, text
    ids = ref.encode("\u2581 x")  # a ▁ in the text is a space once decoded, in both
    assert ours.encode("\u2581 x") == ids and ours.decode(ids) == ref.decode(ids) == "  x"
    assert ours.encode("hi", bos=True, eos=True) == ref.encode("hi", add_bos=True, add_eos=True)
    assert any(ours.types[i] == sp.BYTE for i in ours.encode(extra[0]))  # the byte fallback was exercised


def test_encode_equals_the_library_on_tiny_shakespeare(pair, shakespeare):
    ours, ref = pair
    lines = shakespeare.splitlines()[:8000]
    assert [ours.encode(line) for line in lines] == [ref.encode(line) for line in lines]
    chunk = shakespeare[:20000]  # newlines and all, as one text
    assert ours.encode(chunk) == ref.encode(chunk)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(st.characters(blacklist_characters="\u2581", blacklist_categories=("Cs",)), max_size=40))
def test_round_trip_and_library_agree_on_any_text(pair, text):
    ours, ref = pair
    ids = ours.encode(text)
    assert ids == ref.encode(text)
    assert ours.decode(ids) == text


def test_decode_equals_the_library_on_random_ids_broken_utf8_included(pair):
    ours, ref = pair
    rng = random.Random(0)
    for _ in range(3000):
        choices = lambda: [rng.randrange(32000), rng.randrange(3, 259), 0, 1, 2, 259, 29871]  # noqa: E731
        ids = [rng.choice(choices()) for _ in range(6)]
        assert ours.decode(ids) == ref.decode(ids), [ref.id_to_piece(i) for i in ids]
    with pytest.raises(TokenizerError, match="out of range"):
        ours.decode([32000])
    with pytest.raises(TokenizerError, match="lone surrogate"):
        ours.encode("a\ud800")


def test_llama2c_tokenizer_bin_written_byte_for_byte(pair, need_data):
    ours, _ = pair
    ref = need_data("llama2_tokenizer", "tokenizer.bin").read_bytes()
    assert sp.to_llama2c(ours) == ref
    pieces, scores = sp.read_llama2c(need_data("llama2_tokenizer", "tokenizer.bin"), 32000)
    assert scores == ours.scores and pieces[300] == ours.pieces[300].replace(sp.SPACE, " ").encode()


def test_load_by_name_and_by_file(llama_file, pair):
    assert load("llama2").pieces == pair[0].pieces
    assert load(str(llama_file)).encode("Hello world") == pair[1].encode("Hello world")


def test_our_trained_model_loads_in_the_library_and_encodes_the_same(spm, shakespeare, torture, tmp_path):
    ours = sp.train(shakespeare, vocab_size=800)
    assert ours.vocab_size == 800
    ours.save(tmp_path / "ours.model")
    ref = spm.SentencePieceProcessor(model_file=str(tmp_path / "ours.model"))
    assert [ref.id_to_piece(i) for i in range(800)] == ours.pieces
    for text in shakespeare.splitlines()[:3000] + torture:
        assert ours.encode(text) == ref.encode(text), text
        assert ref.decode(ours.encode(text)) == text
    assert sp.load(tmp_path / "ours.model").pieces == ours.pieces  # and back through our reader


def test_our_trainer_learns_the_vocabulary_sentencepiece_learns(spm, shakespeare, tmp_path):
    """The same text and settings as Llama's (BPE, byte fallback, identity normaliser, split by script and
    digits): the two vocabularies share >= 95% of their pieces and encode the text in the same number of
    tokens within 1% (they differ only where equal pair counts tie)."""
    lines = shakespeare.splitlines()[:20000]
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines), model_prefix=str(tmp_path / "spm"), vocab_size=1024,
        model_type="bpe", byte_fallback=True, character_coverage=0.9995, normalization_rule_name="identity",
        remove_extra_whitespaces=False, split_digits=True, minloglevel=2, num_threads=1,
    )  # fmt: skip
    ref = spm.SentencePieceProcessor(model_file=str(tmp_path / "spm.model"))
    ours = sp.train("\n".join(lines), vocab_size=1024)
    shared = set(ours.pieces) & {ref.id_to_piece(i) for i in range(1024)}
    assert len(shared) >= 0.95 * 1024, len(shared)
    n_ours, n_ref = sum(len(ours.encode(x)) for x in lines), sum(len(ref.encode(x)) for x in lines)
    assert abs(n_ours / n_ref - 1) < 0.01, (n_ours, n_ref)


def test_pieces_never_cross_a_script_or_a_digit():
    assert sp._pieces_may_span("\u2581you,", set("\u2581you,")) == ["\u2581you", ","]
    assert sp._pieces_may_span("\u2581ab12", set("\u2581ab12")) == ["\u2581ab", "1", "2"]
    assert sp._pieces_may_span("\u2581cafe\u0301", set("\u2581cafe\u0301")) == ["\u2581cafe\u0301"]
    assert sp._pieces_may_span("\u2581a\u0416b", set("\u2581ab")) == ["\u2581a", "b"]  # Ж not kept: a cut


def test_bad_files_are_one_line_errors(tmp_path, spm, shakespeare):
    with pytest.raises(TokenizerError, match="no such file"):
        sp.load(tmp_path / "missing.model")
    (tmp_path / "junk.model").write_bytes(b"\x0a\xff\xff\xff")
    with pytest.raises(TokenizerError, match="not a SentencePiece model"):
        sp.load(tmp_path / "junk.model")
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(shakespeare.splitlines()[:2000]), model_prefix=str(tmp_path / "uni"),
        vocab_size=300, model_type="unigram", minloglevel=2, num_threads=1,
    )  # fmt: skip
    with pytest.raises(TokenizerError, match="unigram model; only BPE"):
        sp.load(tmp_path / "uni.model")
    with pytest.raises(TokenizerError, match="vocab_size=10 is smaller"):
        sp.train("hello world", vocab_size=10)


def test_protobuf_varints_round_trip():
    for value in [0, 1, 127, 128, 300, 2**31 - 1, 2**40]:
        assert protobuf.decode(protobuf.field(7, value)) == {7: [value]}
    assert protobuf.decode(protobuf.field(3, -1)) == {3: [2**64 - 1]}  # int32 -1: ten bytes, two's complement
    assert protobuf.as_float(protobuf.decode(protobuf.field(2, 0.5))[2][0]) == 0.5
    assert protobuf.decode(protobuf.field(1, "▁x")) == {1: ["▁x".encode()]}
    with pytest.raises(protobuf.ProtobufError):
        protobuf.decode(b"\x08\x80")  # a varint that never ends


def test_cli_trains_a_sentencepiece_model_and_shows_its_pieces(cli, tmp_path, shakespeare, spm):
    (tmp_path / "in.txt").write_text(shakespeare[:100_000], encoding="utf-8")
    code, out, _ = cli(["tokenizer", "train", str(tmp_path / "in.txt"), "--vocab-size", "400", "--pattern",
               "sentencepiece", "-o", str(tmp_path / "sp")])  # fmt: skip
    assert code == 0 and "trained 400 pieces" in out
    ref = spm.SentencePieceProcessor(model_file=str(tmp_path / "sp.model"))
    _, shown, _ = cli(["tokenizer", "show", "--name", str(tmp_path / "sp.model"), "To be, or not to be"])
    assert f"{len(ref.encode('To be, or not to be'))} tokens: " in shown
