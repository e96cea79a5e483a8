"""Int8 phrase batches with several phrases a row, packed as a tree of their shared first
tokens (``phrase_scorer.pack_rows``): the same log-probabilities as one phrase a row, fewer
positions computed, and the setting that turns it on or off."""

from __future__ import annotations

import numpy as np
import pytest

from asr import onnx_decoder
from asr.phrase_scorer import WhisperDecoderScorer, pack_rows
from tests.asr.test_int8_scorer import tiny_variables

pytestmark = pytest.mark.skipif(not onnx_decoder.available(), reason="onnxruntime/onnx not installed")


class CountingDecoder(onnx_decoder.Int8Decoder):
    """The float32 graph (exact up to GELU's tanh form), counting the positions it computes."""

    positions = 0

    def run(self, x, feeds, mask=None):
        type(self).positions += x.shape[0] * x.shape[1]
        return super().run(x, feeds, mask)


@pytest.fixture()
def scorer():
    import onnxruntime as ort

    rng = np.random.default_rng(11)
    sc = WhisperDecoderScorer(None, num_heads=2, workers=2, variables=tiny_variables(rng))
    kv = sc.cross_kv(rng.standard_normal((30, 64)).astype(np.float32))
    proj, _ = sc._projection()
    model = onnx_decoder.build_graph(sc.layers, sc.out_g, sc.out_b, proj, sc.heads)
    dec = CountingDecoder.__new__(CountingDecoder)
    dec.path, dec.digest = None, None
    dec.session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    sc._int8 = dec
    # phrases sharing their first one to four tokens, as a menu's do ("saya mau ...")
    stems = [[11, 12], [11, 12, 13, 14], [40], [50, 51, 52]]
    seqs = [stem + list(rng.integers(5, 300, size=n)) for stem in stems for n in (1, 2, 4)]
    seqs += [[7], [8, 9]]  # one-token phrases and a short one
    return sc, kv, seqs


def test_pack_rows_shares_the_first_tokens_of_phrases():
    row = pack_rows([[5, 6, 7, 99], [5, 6, 8, 99], [5, 9, 99], [4, 99]])
    # inputs (all but the last token): 5-6-7, 5-6-8, 5-9, 4 -> nodes 4, 5, 5-6, 5-6-7, 5-6-8, 5-9
    assert row.size == 6
    assert row.tokens.tolist() == [4, 5, 6, 7, 8, 9]
    assert row.depth.tolist() == [0, 0, 1, 2, 2, 1]
    assert [n.tolist() for n in row.nodes] == [[1, 2, 3], [1, 2, 4], [1, 5], [0]]
    # each node sees its ancestors and itself, never a sibling's branch
    assert row.allow[3].tolist() == [False, True, True, True, False, False]
    assert row.allow[5].tolist() == [False, True, False, False, False, True]
    assert row.allow[0].tolist() == [True, False, False, False, False, False]


def test_packed_rows_score_like_one_phrase_a_row_with_fewer_positions(scorer):
    sc, kv, seqs = scorer
    ref = sc.token_logprobs([1, 2, 3], seqs, kv, precision="float32")
    sc.pack = 1
    CountingDecoder.positions = 0
    single = sc.token_logprobs([1, 2, 3], seqs, kv, batch=8)
    one_a_row = CountingDecoder.positions
    sc.pack = 4
    CountingDecoder.positions = 0
    packed = sc.token_logprobs([1, 2, 3], seqs, kv, batch=8)
    assert CountingDecoder.positions < 0.8 * one_a_row
    assert [len(p) for p in packed] == [len(s) for s in seqs]
    for p, s, r in zip(packed, single, ref, strict=True):
        assert np.abs(p - s).max() < 1e-4  # the same graph, the same function
        assert np.abs(p - r).max() < 5e-3  # and numpy's decoder (GELU's tanh form: ~1e-3)


def test_phrases_a_row_are_part_of_the_scorer_state(scorer):
    # cached null scores computed with one packing are not reused with another
    sc, _, _ = scorer
    sc.pack = 1
    one = sc.state_digest()
    sc.pack = 8
    assert sc.state_digest() != one


def test_packed_scoring_stops_between_batches(scorer):
    from asr.phrase_scorer import Stopped

    sc, kv, seqs = scorer
    sc.pack = 2
    with pytest.raises(Stopped):
        sc.token_logprobs([1, 2, 3], seqs, kv, batch=2, stop=lambda: True)


def test_the_settings_set_phrases_a_row(tmp_path, monkeypatch):
    from asr import create_recognizer, whisper_backend
    from ivr.config.settings import load_settings

    got = []
    monkeypatch.setattr(whisper_backend, "WhisperRecognizer", lambda *a, options=None, **k: got.append(options))
    default = load_settings(data_dir=tmp_path).recognizer_options()
    create_recognizer("whisper", **default)
    assert got[-1].pack_phrases == default["whisper_pack_phrases"] == 8
    off = load_settings(data_dir=tmp_path, whisper_pack_phrases="0").recognizer_options()
    create_recognizer("whisper", **off)
    assert got[-1].pack_phrases == 0
