"""The int8 phrase scorer (asr.onnx_decoder on ONNX Runtime) against the float32 numpy decoder:
the graph computes the same function, the quantised scores rank phrases the same on real
telephone speech, the built graph is cached, and tokens added later are still normalised."""

from __future__ import annotations

import numpy as np
import pytest

from asr import audio, onnx_decoder
from asr.phrase_scorer import WhisperDecoderScorer
from tests import speechgen

pytestmark = pytest.mark.skipif(not onnx_decoder.available(), reason="onnxruntime/onnx not installed")


def tiny_variables(rng: np.random.Generator, D: int = 64, layers: int = 2, V: int = 300, ff: int = 128) -> dict:
    """Random decoder weights named and shaped as in a CTranslate2 Whisper model.bin."""
    def w(*shape, scale=0.15):
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    v = {"decoder/embeddings/weight": w(V, D, scale=0.5), "decoder/position_encodings/encodings": w(64, D),
         "decoder/layer_norm/gamma": 1 + w(D, scale=0.05), "decoder/layer_norm/beta": w(D, scale=0.05)}
    for i in range(layers):
        p = f"decoder/layer_{i}/"
        for ln in ("self_attention", "attention", "ffn"):
            v[p + ln + "/layer_norm/gamma"] = 1 + w(D, scale=0.05)
            v[p + ln + "/layer_norm/beta"] = w(D, scale=0.05)
        shapes = {"self_attention/linear_0": (3 * D, D), "self_attention/linear_1": (D, D),
                  "attention/linear_0": (D, D), "attention/linear_1": (2 * D, D), "attention/linear_2": (D, D),
                  "ffn/linear_0": (ff, D), "ffn/linear_1": (D, ff)}
        for name, shape in shapes.items():
            v[p + name + "/weight"] = w(*shape)
            v[p + name + "/bias"] = w(shape[0], scale=0.02)
    return v


@pytest.fixture()
def tiny():
    rng = np.random.default_rng(7)
    sc = WhisperDecoderScorer(None, num_heads=2, workers=2, variables=tiny_variables(rng))
    enc = rng.standard_normal((30, 64)).astype(np.float32)
    seqs = [list(rng.integers(5, 300, size=n)) for n in (2, 3, 3, 5, 7, 7, 9)]
    return sc, sc.cross_kv(enc), seqs


def test_float32_graph_computes_the_numpy_decoder(tiny):
    import onnxruntime as ort

    sc, kv, seqs = tiny
    proj, _ = sc._projection()
    model = onnx_decoder.build_graph(sc.layers, sc.out_g, sc.out_b, proj, sc.heads)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    prefix = [1, 2, 3]
    past: list = []
    sc.hidden(np.asarray([prefix]), kv, keep_past=past)
    tokens = np.asarray([s[:6] + [0] * (6 - len(s[:6])) for s in seqs], dtype=np.int64)
    want = sc.hidden(tokens, kv, past=past)
    feeds = onnx_decoder.Int8Decoder.feeds(past, kv)
    x = sc.emb[tokens] + sc.pos[3:3 + tokens.shape[1]]
    mask = onnx_decoder.causal_mask(6)
    h, lse = sess.run(["h", "lse"], {"x": x, "mask": mask, **feeds})
    # numpy uses the tanh form of GELU, the graph the exact one: differences ~1e-3
    assert np.abs(h - want).max() < 5e-3
    logits = want @ proj
    m = logits.max(-1)
    assert np.allclose(lse, m + np.log(np.exp(logits - m[..., None]).sum(-1)), atol=5e-3)


def test_int8_logprobs_follow_float32_and_the_graph_is_cached(tiny, tmp_path):
    sc, kv, seqs = tiny
    sc.use_vocabulary(range(0, 300, 2))
    sc.add_tokens({t for s in seqs for t in s})
    assert sc.enable_int8(tmp_path) and sc.precision == "int8"
    cached = list(tmp_path.glob("decoder-int8-*.onnx"))
    assert len(cached) == 1
    stamp = cached[0].stat().st_mtime_ns
    ref = sc.token_logprobs([1, 2, 3], seqs, kv, precision="float32")
    got = sc.token_logprobs([1, 2, 3], seqs, kv)
    assert [len(r) for r in got] == [len(s) for s in seqs]
    err = np.abs(np.concatenate(got) - np.concatenate(ref))
    assert err.mean() < 0.15 and err.max() < 0.6  # quantisation noise; a wrong graph is off by nats
    # a second scorer with the same weights and vocabulary loads the cached graph
    again = WhisperDecoderScorer(None, num_heads=2, variables=tiny_variables(np.random.default_rng(7)))
    again.use_vocabulary(sc._subset)
    assert again.enable_int8(tmp_path)
    assert cached[0].stat().st_mtime_ns == stamp and len(list(tmp_path.glob("*.onnx"))) == 1
    assert all(np.array_equal(a, b) for a, b in zip(again.token_logprobs([1, 2, 3], seqs, kv), got, strict=True))


def test_damaged_cache_file_is_rebuilt(tiny, tmp_path):
    sc, kv, seqs = tiny
    assert sc.enable_int8(tmp_path)
    want = sc.token_logprobs([1, 2, 3], seqs, kv)
    (cached,) = tmp_path.glob("decoder-int8-*.onnx")
    cached.write_bytes(cached.read_bytes()[:1000])  # truncated, as by a full disk
    again = WhisperDecoderScorer(None, num_heads=2, variables=tiny_variables(np.random.default_rng(7)))
    assert again.enable_int8(tmp_path)
    assert cached.stat().st_size > 100_000
    got = again.token_logprobs([1, 2, 3], seqs, kv)
    assert all(np.array_equal(a, b) for a, b in zip(got, want, strict=True))


def test_tokens_added_after_the_build_join_the_normaliser(tiny, tmp_path):
    sc, kv, seqs = tiny
    sc.use_vocabulary(range(0, 150))
    assert sc.enable_int8(tmp_path)
    late = [[201, 203, 205], [250, 7]]  # ids outside the graph's vocabulary
    sc.add_tokens({t for s in late for t in s})
    ref = sc.token_logprobs([1, 2, 3], late, kv, precision="float32")
    got = sc.token_logprobs([1, 2, 3], late, kv)
    assert np.abs(np.concatenate(got) - np.concatenate(ref)).max() < 0.3
    # without the fold the normaliser would miss those ids: log-probs would differ more
    assert all(np.all(g <= 0) for g in got)


def test_unwritable_cache_builds_in_memory(tiny, tmp_path):
    sc, kv, seqs = tiny
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    assert sc.enable_int8(blocker / "scorer")
    assert sc._int8.path is None
    assert len(sc.token_logprobs([1, 2, 3], seqs, kv)) == len(seqs)


def test_float32_when_onnx_runtime_is_missing(tiny, monkeypatch):
    sc, kv, seqs = tiny
    monkeypatch.setattr(onnx_decoder, "available", lambda: False)
    assert not sc.enable_int8(None) and sc.precision == "float32"
    with pytest.raises(RuntimeError, match="not enabled"):
        sc.token_logprobs([1, 2, 3], seqs, kv, precision="int8")


def test_int8_scores_rank_phrases_like_float32_on_telephone_speech(whisper, main_menu):
    eng = whisper.engine
    assert eng.scorer.precision == "int8"  # the default wherever ONNX Runtime is installed
    prep = eng.prepared(main_menu)
    pcm = speechgen.phone_utterance("pajak motor saya sudah telat", "id", 150, 50, snr_db=25.0)
    pcm16 = audio.resample(pcm, 8000, 16000)
    enc = np.asarray(eng.encode(pcm16, eng.frames_for(len(pcm16) / 32000, True)))[0]
    frames = enc.shape[0] * 2
    kv, null_kv = eng.scorer.cross_kv(enc), eng.null_kv(frames)
    o = eng.options

    def scores(precision):
        lps = eng.scorer.token_logprobs(eng.prefix, prep.seqs, kv, precision=precision)
        null = eng.scorer.token_logprobs(eng.prefix, prep.seqs, null_kv, precision=precision)
        corrected = [np.maximum(lp - o.null_alpha * nl, o.token_floor) for lp, nl in zip(lps, null, strict=True)]
        return lps, np.array([c.sum() / len(c) ** o.length_power for c in corrected])

    ref, a = scores("float32")
    got, b = scores("int8")
    err = np.abs(np.concatenate(got) - np.concatenate(ref))
    assert err.mean() < 0.25
    # the null correction and the per-token floor amplify the noise a little
    assert np.corrcoef(a, b)[0, 1] > 0.95
    best_ref, best = int(np.argmax(a)), int(np.argmax(b))
    assert prep.items[best][0] == prep.items[best_ref][0]
    # and the audio's label leads (espeak-ng output shifts a little with what the process
    # synthesised before, so among the first three labels rather than first)
    leading = []
    for i in np.argsort(-b):
        if prep.items[i][0] not in leading:
            leading.append(prep.items[i][0])
    assert "pajak_kendaraan" in leading[:3]


def reference_greedy(sc, prefix, kv, n, banned=()):
    """Greedy decoding re-running the whole sequence each step on the numpy decoder."""
    proj, index = sc._projection()
    vocab = sc._subset if sc._subset is not None else np.arange(proj.shape[1])
    seq: list[int] = []
    for _ in range(n):
        logits = sc.hidden(np.asarray([prefix + seq]), kv)[0, -1] @ proj
        logits[[index[t] if index is not None else t for t in banned]] = -np.inf
        seq.append(int(vocab[int(np.argmax(logits))]))
    return seq


def test_greedy_with_key_value_cache_decodes_like_a_full_rerun(tiny, tmp_path):
    import onnxruntime as ort

    sc, kv, _ = tiny
    sc.use_vocabulary(range(0, 300, 3))
    assert sc.enable_int8(tmp_path)
    proj, _ = sc._projection()
    # the same graph unquantised: any difference from the reference is the cache's doing
    f32 = ort.InferenceSession(onnx_decoder.build_graph(sc.layers, sc.out_g, sc.out_b, proj, sc.heads)
                               .SerializeToString(), providers=["CPUExecutionProvider"])
    sc._int8 = onnx_decoder.Int8Decoder.of_session(f32)
    eot = 299 - 299 % 3  # in the vocabulary; never the argmax of 12 steps here, so decoding runs on
    banned = [3, 6, 9]
    for prefix in ([1, 2, 3], [4, 5, 6, 7, 8]):
        want = reference_greedy(sc, prefix, kv, 12, banned)
        if eot in want:
            want = want[:want.index(eot)]
        got, mean_lp, p_none = sc.greedy(prefix, kv, 12, eot, suppress=banned, no_speech=10)
        assert got == want
        assert mean_lp < 0 and 0 < p_none < 1
    # suppressing the first choice at the start changes the first token only
    first = reference_greedy(sc, [1, 2, 3], kv, 1, banned)[0]
    got, _, _ = sc.greedy([1, 2, 3], kv, 3, eot, suppress=banned, suppress_at_start=[first])
    assert got[0] != first and got[0] not in banned


def test_greedy_needs_the_int8_decoder(tiny):
    sc, kv, _ = tiny
    with pytest.raises(RuntimeError, match="enable_int8"):
        sc.greedy([1, 2, 3], kv, 5, 299)
