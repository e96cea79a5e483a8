"""The audio intent classifier (asr.audio_intent) and its place in the recognizer's posteriors."""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from asr.audio_intent import DEFAULT_PATH, AudioIntentModel, conv_pool, pool, segment_bounds
from tests import speechgen


def _toy() -> AudioIntentModel:
    rng = np.random.default_rng(0)
    return AudioIntentModel(("a", "b", "c"), np.zeros(6, np.float32), np.ones(6, np.float32),
                            rng.standard_normal((3, 6)).astype(np.float32), np.zeros(3, np.float32), 0.5)


def test_log_posteriors_are_renormalised_over_the_listens_labels():
    m = _toy()
    x = np.arange(6, dtype=np.float32)
    full = m.log_proba(x)
    sub = m.log_proba(x, ["c", "a"])
    assert np.isclose(np.exp(full).sum(), 1.0) and np.isclose(np.exp(sub).sum(), 1.0)
    # the same odds between the kept labels
    assert np.isclose(sub[0] - sub[1], full[2] - full[0], atol=1e-5)
    assert m.adjustment(np.ones((10, 2)), 0.1, ["a", "zzz"]) is None  # an unknown label: not applied


def test_pooling_leaves_out_the_padding_after_the_utterance():
    enc = np.zeros((500, 2), np.float32)
    enc[:100] = 1.0  # 2 s of audio at 50 frames a second, then the window's padding
    enc[100:] = 9.0
    f = pool(enc, 2.0)
    np.testing.assert_allclose(f, [1, 1, 1, 1, 0, 0])


def test_the_shipped_model_is_small_and_knows_the_main_menu(main_menu):
    assert DEFAULT_PATH.stat().st_size < 2_000_000  # an ensemble of 3 convolutions in half precision
    m = AudioIntentModel.load()
    assert m is not None and m.weight > 0
    assert m.covers(list(main_menu.labels))
    assert m.coef.shape == (len(m.labels), m.mean.size)
    assert m.untouched == ("darurat",)


def test_untouched_labels_keep_their_posterior_and_the_rest_is_reweighted():
    m = AudioIntentModel(("a", "b", "darurat"), np.zeros(1, np.float32), np.ones(1, np.float32),
                         np.zeros((3, 1), np.float32), np.zeros(3, np.float32), 1.0, ("darurat",))
    post = np.array([0.3, 0.45, 0.25])
    out = m.fuse(post, ["a", "b", "darurat"], np.log([0.1, 0.6, 0.3]))
    assert np.isclose(out.sum(), 1.0) and out[2] == 0.25
    np.testing.assert_allclose(out[:2], np.array([0.03, 0.27]) / 0.30 * 0.75)
    # darurat leads: nothing changes; reweighting would make it lead: nothing changes either
    np.testing.assert_array_equal(m.fuse(np.array([0.1, 0.3, 0.6]), ["a", "b", "darurat"], np.log([0.1, 0.8, 0.1])),
                                  [0.1, 0.3, 0.6])
    np.testing.assert_array_equal(m.fuse(np.array([0.5, 0.1, 0.4]), ["a", "b", "darurat"], np.log([0.1, 0.9, 0.1])),
                                  [0.5, 0.1, 0.4])


def test_unfuse_gives_back_what_fuse_was_given():
    """Benches derive a new classifier's results from results cached with another one in."""
    labels = ["a", "b", "c", "darurat"]
    m = AudioIntentModel(tuple(labels), np.zeros(1, np.float32), np.ones(1, np.float32),
                         np.zeros((4, 1), np.float32), np.zeros(4, np.float32), 1.0, ("darurat",))
    rng = np.random.default_rng(3)
    checked = 0
    for _ in range(200):
        post = rng.dirichlet(np.ones(4) * 0.5)
        adj = 0.2 * np.log(rng.dirichlet(np.ones(4)))
        fused = m.fuse(post, labels, adj)
        if fused is post and np.argmax(post) != 3:
            continue  # fuse refused because darurat would lead after: the one ambiguous case
        np.testing.assert_allclose(m.unfuse(fused, labels, adj), post, atol=1e-9)
        checked += 1
    assert checked > 150


def test_with_a_floor_the_classifier_may_lower_darurat_but_never_raise_it():
    labels = ["a", "b", "darurat"]
    m = AudioIntentModel(tuple(labels), np.zeros(1, np.float32), np.ones(1, np.float32),
                         np.zeros((3, 1), np.float32), np.zeros(3, np.float32), 1.0, ("darurat",), untouched_floor=0.06)
    # a garbled service request the recognizer put under darurat: the classifier takes the lead away
    post = np.array([0.3, 0.2, 0.5])
    out = m.fuse(post, labels, np.log([0.8, 0.15, 0.05]))
    full = post * np.array([0.8, 0.15, 0.05])
    full /= full.sum()
    assert np.isclose(out.sum(), 1.0) and np.argmax(out) == 0
    np.testing.assert_allclose(out, full)  # above the floor: the plain product
    # lowered hard, darurat keeps the floor (the detector's weakest reading survives)
    out = m.fuse(post, labels, np.log([0.98, 0.0199, 0.0001]))
    assert out[2] == pytest.approx(0.06) and np.isclose(out.sum(), 1.0)
    assert out[0] / out[1] == pytest.approx(0.3 * 0.98 / (0.2 * 0.0199))
    # under the floor already: never raised to it
    out = m.fuse(np.array([0.6, 0.38, 0.02]), labels, np.log([0.5, 0.49, 0.01]))
    assert out[2] <= 0.02
    # the classifier would raise darurat: the rule without a floor (kept; leading: unchanged)
    up = m.fuse(post, labels, np.log([0.1, 0.1, 0.8]))
    np.testing.assert_array_equal(up, post)
    up = m.fuse(np.array([0.5, 0.3, 0.2]), labels, np.log([0.1, 0.6, 0.3]))
    assert up[2] == 0.2 and up[1] == pytest.approx(0.8 * 0.18 / 0.23)
    with pytest.raises(ValueError, match="recognise again"):
        m.unfuse(out, labels, np.zeros(3))


def test_the_shipped_model_may_take_a_lead_away_from_darurat():
    m = AudioIntentModel.load()
    assert m is not None and m.untouched_floor is not None and 0 < m.untouched_floor <= 0.1


def test_a_hidden_layer_is_applied_saved_and_loaded(tmp_path):
    rng = np.random.default_rng(1)
    w1, b1 = rng.standard_normal((5, 6)).astype(np.float32), rng.standard_normal(5).astype(np.float32)
    m = AudioIntentModel(("a", "b", "c"), np.zeros(6, np.float32), np.ones(6, np.float32),
                         rng.standard_normal((3, 5)).astype(np.float32), np.zeros(3, np.float32), 0.5,
                         hidden_coef=w1, hidden_bias=b1)
    x = rng.standard_normal(6).astype(np.float32)
    z = np.maximum(w1 @ x + b1, 0) @ m.coef.T
    np.testing.assert_allclose(m.log_proba(x), z - np.log(np.exp(z).sum()), rtol=1e-5, atol=1e-5)
    m.save(tmp_path / "m.npz")
    back = AudioIntentModel.load(tmp_path / "m.npz")
    assert back is not None and back.hidden_coef is not None
    np.testing.assert_allclose(back.log_proba(x), m.log_proba(x), rtol=1e-6)
    # a file without the layer (as shipped before it existed) loads as a linear model
    _toy().save(tmp_path / "lin.npz")
    lin = AudioIntentModel.load(tmp_path / "lin.npz")
    assert lin is not None and lin.hidden_coef is None
    np.testing.assert_allclose(lin.log_proba(x), _toy().log_proba(x), rtol=1e-6)



def test_segment_pooling_tells_where_in_the_utterance_a_sound_came():
    """Mean, max and std over the whole utterance are the same whichever order its sounds
    came in; the segments' means and stds are not (issue 16, phase 6)."""
    a = np.zeros((60, 2), np.float32)
    a[:20] = 1.0  # a sound at the start
    b = a[::-1].copy()  # the same sound at the end
    np.testing.assert_allclose(pool(a, 1.2), pool(b, 1.2), rtol=1e-5)
    fa, fb = pool(a, 1.2, 3), pool(b, 1.2, 3)
    assert fa.size == 6 + 3 * 4
    np.testing.assert_allclose(fa[6:], [1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
    np.testing.assert_allclose(fb[6:], [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0])
    # the padding after the utterance stays out; fewer frames than segments: none empty
    assert segment_bounds(2, 3) == [(0, 1), (0, 1), (1, 2)]
    assert pool(np.ones((500, 2), np.float32), 0.04, 3).size == 18


def test_a_convolution_over_frames_hears_a_local_pattern_anywhere():
    """``conv_pool``: filters over a few consecutive frames, then their maximum and mean over
    time; a model with conv weights reads it (saved and loaded with them; older files
    without the fields load as pooled models)."""
    rng = np.random.default_rng(2)
    proj = np.eye(2, 4, dtype=np.float32)  # keeps channels 0 and 1
    # one filter: channel 0 rising over three frames
    coef = np.array([[-1, 0, 0, 0, 1, 0]], np.float32)
    e = np.zeros((30, 4), np.float32)
    e[10:20, 0] = np.arange(10)
    f = conv_pool(e, proj, np.zeros(2, np.float32), coef, np.zeros(1, np.float32))
    shifted = np.roll(e, 8, axis=0)
    moved = conv_pool(shifted, proj, np.zeros(2, np.float32), coef, np.zeros(1, np.float32))
    assert moved[0] == f[0]  # the same peak, 8 frames later
    assert f[0] == 2.0 and np.isclose(f[1], 17 / 30)  # the ramp rises 2 over two frames (1 at its foot)
    # averaging pairs of frames first
    g = conv_pool(e, proj, np.zeros(2, np.float32), coef, np.zeros(1, np.float32), down=2)
    assert g.shape == (2,) and g[0] > 0
    m = AudioIntentModel(("a", "b", "c"), np.zeros(2, np.float32), np.ones(2, np.float32),
                         rng.standard_normal((3, 2)).astype(np.float32), np.zeros(3, np.float32), 0.3,
                         conv_proj=proj, conv_proj_bias=np.zeros(2, np.float32), conv_coef=coef,
                         conv_bias=np.zeros(1, np.float32), conv_down=1)
    np.testing.assert_allclose(m.features(np.concatenate([e, np.full((70, 4), 50, np.float32)]), 30 / 50), f)
    path = Path(tempfile.mkdtemp()) / "conv.npz"
    m.save(path)
    back = AudioIntentModel.load(path)
    assert back is not None and back.conv_down == 1 and back.segments == 0
    np.testing.assert_allclose(back.features(e, 30 / 50), f)
    seg = AudioIntentModel(("a",), np.zeros(1, np.float32), np.ones(1, np.float32), np.zeros((1, 1), np.float32),
                           np.zeros(1, np.float32), 0.3, segments=3)
    seg.save(path)
    assert AudioIntentModel.load(path).segments == 3
    _toy().save(path)
    old = AudioIntentModel.load(path)
    assert old.segments == 0 and old.conv_coef is None


def _conv_model(seed: int, kernel: int = 3) -> AudioIntentModel:
    rng = np.random.default_rng(seed)
    dims, filters, channels = 3, 4, 5
    return AudioIntentModel(
        ("a", "b", "c", "darurat"), rng.standard_normal(2 * filters).astype(np.float32),
        rng.uniform(0.5, 2, 2 * filters).astype(np.float32),
        rng.standard_normal((4, 2 * filters)).astype(np.float32), rng.standard_normal(4).astype(np.float32), 0.7,
        ("darurat",), 0.06, conv_proj=rng.standard_normal((dims, channels)).astype(np.float32),
        conv_proj_bias=rng.standard_normal(dims).astype(np.float32),
        conv_coef=rng.standard_normal((filters, kernel * dims)).astype(np.float32),
        conv_bias=rng.standard_normal(filters).astype(np.float32), conv_down=2)


def test_an_ensemble_averages_its_members_log_posteriors():
    """``AudioIntentModel.ensemble``: each member's convolution over the same frames, their
    log-posteriors averaged (a geometric mean of their posteriors), renormalised over the
    listen's labels; the fusion's settings are the first member's; saved and loaded as one
    file (the large arrays in half precision), and an ensemble joins another member as the
    average of all its members."""
    members = [_conv_model(s) for s in (4, 5, 6)]
    ens = AudioIntentModel.ensemble(members)
    assert ens.members == 3 and members[0].members == 1
    assert (ens.weight, ens.untouched, ens.untouched_floor) == (0.7, ("darurat",), 0.06)
    enc = np.random.default_rng(7).standard_normal((60, 5)).astype(np.float32)
    labels = ["c", "a", "darurat"]
    got = ens.log_proba(ens.features(enc, 0.9), labels)
    each = np.array([m.log_proba(m.features(enc, 0.9), labels) for m in members])
    want = each.mean(0) - np.log(np.exp(each.mean(0)).sum())
    np.testing.assert_allclose(got, want, atol=2e-3)  # half-precision weights
    assert not np.allclose(got, each[0], atol=2e-2)  # not just the first member
    path = Path(tempfile.mkdtemp()) / "ens.npz"
    ens.save(path)
    back = AudioIntentModel.load(path)
    assert back is not None and back.members == 3
    np.testing.assert_allclose(back.log_proba(back.features(enc, 0.9), labels), got, atol=1e-6)
    # an ensemble of two joined by a third member: the average over three, not two
    nested = AudioIntentModel.ensemble([AudioIntentModel.ensemble(members[:2]), members[2]])
    np.testing.assert_allclose(nested.log_proba(nested.features(enc, 0.9), labels), got, atol=2e-3)
    # a member with a narrower kernel, padded with zeros on both sides, is the same convolution
    narrow = _conv_model(8, kernel=1)
    assert narrow.conv_coef is not None
    padded = replace(narrow, conv_coef=np.pad(narrow.conv_coef, ((0, 0), (3, 3))))
    np.testing.assert_allclose(padded.features(enc, 0.9), narrow.features(enc, 0.9), atol=1e-5)
    with pytest.raises(ValueError):
        AudioIntentModel.ensemble([members[0], _toy()])


@pytest.mark.slow
def test_the_recognizer_multiplies_its_posteriors_by_the_classifiers(whisper, main_menu, monkeypatch):
    """Espeak-ng through 8 kHz mu-law: the posteriors with the classifier are those without it
    times the classifier's posteriors (from the utterance's encoder output, computed here
    apart) to the model's weight, renormalised (``fuse``: darurat never raised)."""
    from asr import audio

    eng = whisper.engine
    assert eng.audio_intent is not None
    prep = eng.prepared(main_menu)
    pcm = audio.resample(speechgen.phone_utterance("halo, saya mau bikin ka te pe yang baru", "id+f2", 150, 45,
                                                   level_dbfs=-26, snr_db=20), 8000, 16000)
    with_model = eng.recognize(pcm, prep)
    model = eng.audio_intent
    monkeypatch.setattr(eng, "audio_intent", None)
    without = eng.recognize(pcm, prep)
    secs = len(pcm) / 32000
    enc = np.asarray(eng.encode(pcm, eng.frames_for(secs, True)))[0]
    lp = model.log_proba(model.features(enc, secs), prep.labels)
    before = np.array([without.scores[lab] for lab in prep.labels])
    # the fusion rule itself (darurat never raised) is tested on its own above
    expected = model.fuse(before, prep.labels, model.weight * lp)
    np.testing.assert_allclose([with_model.scores[lab] for lab in prep.labels], expected, rtol=1e-4, atol=1e-7)
    assert not np.allclose(expected, [without.scores[lab] for lab in prep.labels], atol=1e-3)


@pytest.mark.slow
def test_the_classifier_alone_hears_requests_in_a_voice_it_was_not_trained_on(whisper, main_menu):
    """Requests worded apart from the script's examples, in a voice variant left out of the
    classifier's training (id+m3, bench/embed_intent.py HELD_OUT), through 8 kHz mu-law."""
    from asr import audio

    eng = whisper.engine
    prep = eng.prepared(main_menu)
    requests = {"saya mau bikin ktp baru": "ktp", "mau bayar pajak motor saya": "pajak_kendaraan",
                "tolong ada kebakaran di rumah saya": "darurat", "saya mau daftar bpjs kesehatan": "bpjs_kesehatan",
                "bagaimana cara mengurus akta kelahiran anak": "akta_kelahiran",
                "saya mau bicara dengan petugas": "petugas"}
    right = 0
    for text, label in requests.items():
        pcm = audio.resample(speechgen.phone_utterance(text, "id+m3", 150, 45, level_dbfs=-26, snr_db=20), 8000, 16000)
        secs = len(pcm) / 32000
        enc = np.asarray(eng.encode(pcm, eng.frames_for(secs, True)))[0]
        lp = eng.audio_intent.log_proba(eng.audio_intent.features(enc, secs), prep.labels)
        right += prep.labels[int(np.argmax(lp))] == label
    assert right >= 5, right
