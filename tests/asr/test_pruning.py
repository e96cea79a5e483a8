"""The second stage of a menu's phrase scoring pruned by the audio intent classifier
(``WhisperOptions.prune_labels``) and the extra hearings limited to each leading label's best
phrases (``view_phrases``): real Whisper decoding on telephone-quality espeak-ng speech."""

from dataclasses import replace

import numpy as np
import pytest

from tests import speechgen


def _pcm(text: str, voice: str = "id", rate: int = 150) -> bytes:
    from asr import audio

    pcm8 = speechgen.phone_utterance(text, voice, rate, 45, level_dbfs=-24, snr_db=25)
    return audio.resample(pcm8, 8000, 16000)


def _recognize(eng, prep, pcm, monkeypatch, **changes):
    """The recognition with ``changes`` to the options, and the phrase masks it scored."""
    scored: list[np.ndarray] = []
    real = eng.score_phrases
    monkeypatch.setattr(eng, "score_phrases", lambda enc, p, keep=None, seconds=None, kv=None, stale=None:
                        scored.append(np.ones(len(p.items), bool) if keep is None else keep.copy())
                        or real(enc, p, keep, seconds, kv))
    default = eng.options
    eng.options = replace(default, **changes)
    try:
        tr = eng.recognize(pcm, prep, busy=lambda: False)
    finally:
        eng.options = default
        monkeypatch.setattr(eng, "score_phrases", real)
    return tr, scored


@pytest.mark.slow
def test_pruned_second_stage_keeps_the_emergency_label_and_agrees_on_a_clear_request(whisper, main_menu,
                                                                                     monkeypatch):
    eng = whisper.engine
    prep = eng.prepared(main_menu)
    assert prep.large and eng.audio_intent is not None and eng.audio_intent.covers(prep.labels)
    whisper.warm_up(main_menu)
    pcm = _pcm("saya mau bayar pajak bumi dan bangunan")
    full, full_scored = _recognize(eng, prep, pcm, monkeypatch, prune_labels=0, view_phrases=0)
    pruned, scored = _recognize(eng, prep, pcm, monkeypatch, prune_labels=3, prune_lead=1, view_phrases=4)
    assert np.array_equal(full_scored[1], ~prep.stage1)  # off: every other phrase
    second = scored[1]
    assert np.array_equal(scored[0], prep.stage1)
    labels = {prep.labels[i] for i in set(prep.label_of[second])}
    d = prep.labels.index("darurat")
    # every phrase of the emergency label is scored, whatever the classifier says of it
    assert np.all(second[(prep.label_of == d) & ~prep.stage1])
    assert "darurat" in labels and "pbb" in labels
    assert len(labels) <= 3 + 1 + 1 and second.sum() < (~prep.stage1).sum() / 2  # it did prune
    # the extra hearings: each leading label's 4 best phrases only
    for view in scored[2:]:
        counts = np.bincount(prep.label_of[view], minlength=len(prep.labels))
        assert counts.max() <= 4 and (counts > 0).sum() == eng.options.view_labels
    # the same decision as the whole scoring, and every label keeps a share of the posterior
    assert full.best_label == pruned.best_label == "pbb"
    assert pruned.scores["pbb"] == pytest.approx(full.scores["pbb"], abs=0.1)
    assert min(pruned.scores.values()) > 0.0 and sum(pruned.scores.values()) == pytest.approx(1.0)


@pytest.mark.slow
def test_an_emergency_is_scored_whole_when_the_classifier_ranks_it_low(whisper, main_menu, monkeypatch):
    """``darurat`` is in ``prune_keep``: even with the classifier's single leading label kept
    and no first-stage leader, its phrases are all scored; and dropped from ``prune_keep`` it
    would not be (so the rule is what keeps it)."""
    eng = whisper.engine
    prep = eng.prepared(main_menu)
    pcm = _pcm("tolong ada kebakaran di rumah saya sekarang", "id+f2", 160)
    tr, scored = _recognize(eng, prep, pcm, monkeypatch, prune_labels=1, prune_lead=0, view_phrases=0)
    d = prep.labels.index("darurat")
    assert np.all(scored[1][(prep.label_of == d) & ~prep.stage1])
    assert tr.best_label == "darurat"
    enc = np.asarray(eng.encode(pcm, eng.frames_for(len(pcm) / 32000, True)))[0]
    adj = eng.audio_intent.adjustment(enc, len(pcm) / 32000, prep.labels)
    first = np.zeros(len(prep.labels))
    worst = int(np.argmin(adj))
    without = prep.kept(replace(eng.options, prune_labels=1, prune_lead=0, prune_keep=()), adj, first)
    assert without.sum() < len(prep.items) and not np.any(without[prep.label_of == worst])
    kept = prep.kept(replace(eng.options, prune_labels=1, prune_lead=0), adj, first)
    assert np.all(kept[prep.label_of == d])


def test_the_settings_turn_pruning_off(tmp_path, monkeypatch):
    from asr import create_recognizer, whisper_backend
    from ivr.config.settings import SettingsError, load_settings

    got = []
    monkeypatch.setattr(whisper_backend, "WhisperRecognizer", lambda *a, options=None, **k: got.append(options))
    default = load_settings(data_dir=tmp_path).recognizer_options()
    create_recognizer("whisper", **default)
    # shipped: both off (held out, the limited extra hearings moved acceptance down; docs phase 7)
    assert got[-1].prune_labels == default["whisper_prune_labels"] == 0
    assert got[-1].view_phrases == default["whisper_view_phrases"] == 0
    five = load_settings(data_dir=tmp_path, whisper_view_phrases="5").recognizer_options()
    create_recognizer("whisper", **five)
    assert got[-1].view_phrases == 5
    on = load_settings(data_dir=tmp_path, whisper_prune_labels="4").recognizer_options()
    create_recognizer("whisper", **on)
    assert got[-1].prune_labels == 4 and got[-1].prune_keep == ("darurat",)
    off = load_settings(data_dir=tmp_path, whisper_prune_labels="0", whisper_view_phrases="0").recognizer_options()
    create_recognizer("whisper", **off)
    assert got[-1].prune_labels == 0 and got[-1].view_phrases == 0
    with pytest.raises(SettingsError, match="whisper_prune_labels"):
        load_settings(data_dir=tmp_path, whisper_prune_labels="-1")
