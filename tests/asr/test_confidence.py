"""Honest confidence: what ivr.calls.understand passes to the dialog, and the recognizer's two-stage
scoring of large expectations (real Whisper decoding on telephone-quality espeak-ng speech)."""

from dataclasses import replace

import numpy as np
import pytest

from asr import Transcript
from tests import speechgen
from tests.waiting import eventually_sync

YESNO = ["yes", "no"]


def _fuse(text, scores, kind="yesno", labels=YESNO, script=None):
    from ivr.calls.understand import fuse

    matcher = None if script is None else (script.yesno_matcher if kind == "yesno" else script.matcher)
    return fuse(Transcript(text=text, confidence=max(scores.values()), scores=scores), kind, labels, matcher)


def test_unsure_yes_no_is_not_passed_on_as_an_answer(script):
    # the scoring leans to "yes" but the transcript says neither: the dialog must ask again
    u = _fuse("berharga", {"yes": 0.7, "no": 0.3}, script=script)
    assert u.intent is None
    assert u.confidence < script.settings.confirm


def test_transcript_words_decide_a_yes_no_against_the_scoring(script):
    u = _fuse("Tidak.", {"yes": 0.75, "no": 0.25}, script=script)
    assert u.intent == "no" and script.settings.confirm <= u.confidence < 0.9
    agree = _fuse("Iya, betul.", {"yes": 0.7, "no": 0.3}, script=script)
    assert agree.intent == "yes" and agree.confidence >= 0.9


def test_confident_scoring_answers_alone(script):
    u = _fuse("hmm", {"yes": 0.05, "no": 0.95}, script=script)
    assert u.intent == "no" and u.confidence >= 0.8


def test_menu_labels_yield_to_services(script):
    from ivr.calls.understand import fuse

    # the main menu's label for the tax menu is navigation because the script declares that
    # state a menu, not because of its name
    listen = script.listen_action(script.entry_menu)
    assert "menu_pajak" in listen.navigation and "pajak_kendaraan" not in listen.navigation
    labels = ["pajak_kendaraan", "pbb", "menu_pajak"]
    tr = Transcript(text="", confidence=0.45, scores={"pajak_kendaraan": 0.35, "pbb": 0.2, "menu_pajak": 0.45})
    u = fuse(tr, "intent", labels, navigation=listen.navigation)
    assert u.intent == "pajak_kendaraan"
    assert u.confidence < 0.6  # still not sure enough to skip the confirmation
    # without the declaration the label is an answer like any other
    assert fuse(tr, "intent", labels).intent == "menu_pajak"
    # a menu label that clearly wins keeps its place
    tr2 = Transcript(text="", confidence=0.95, scores={"pajak_kendaraan": 0.02, "pbb": 0.03, "menu_pajak": 0.95})
    assert fuse(tr2, "intent", labels, navigation=listen.navigation).intent == "menu_pajak"


def test_fitted_encoder_windows(whisper):
    eng = whisper.engine
    assert eng.frames_for(1.2, fit=True) == 400
    assert eng.frames_for(3.5, fit=True) == 600
    assert eng.frames_for(8.5, fit=True) == 1000
    assert eng.frames_for(12.0, fit=True) == 1300
    assert eng.frames_for(1.2) == 1000  # the fixed window (free decoding, small expectations)


@pytest.mark.slow
def test_two_stage_scoring_keeps_every_label_in_the_posterior(whisper, main_menu):
    """With scoring="fast" the main menu is scored in two stages; labels not rescored keep their
    first-stage score, so none is dropped from the posterior (dropping them inflated
    confidence), and the winner is the one full scoring of every phrase picks."""
    import dataclasses

    from asr import audio
    from asr.whisper_backend import PreparedExpectation

    eng = whisper.engine
    default = eng.options
    eng.options = dataclasses.replace(default, scoring="fast")
    try:
        prep = PreparedExpectation(eng, main_menu)
        assert prep.large and 0 < prep.stage1.sum() < len(prep.items)
        pcm8 = speechgen.phone_utterance("pajak motor saya sudah telat", "id", 150, 50, level_dbfs=-26, snr_db=25)
        pcm = audio.resample(pcm8, 8000, 16000)
        tr = eng.recognize(pcm, prep)
    finally:
        eng.options = default
    assert tr.best_label == "pajak_kendaraan"
    assert min(tr.scores.values()) > 0.0
    assert sum(tr.scores.values()) == pytest.approx(1.0)
    enc = np.asarray(eng.encode(pcm, eng.frames_for(len(pcm) / 32000, True)))[0]
    full = eng.score_phrases(enc, prep)
    best_full = prep.labels[int(prep.label_of[int(np.nanargmax(full))])]
    assert best_full == "pajak_kendaraan"


@pytest.mark.slow
def test_auto_scoring_scores_every_phrase_unless_callers_wait(whisper, main_menu, monkeypatch):
    """The default ("auto") scores the first stage, then every other expected phrase when no
    other utterance waits for the CPU, or only the leading labels' phrases when some do; the
    free decoding reads the same fitted encoder window as the scoring (one encoder pass per
    utterance)."""
    from asr import audio

    eng = whisper.engine
    prep = eng.prepared(main_menu)
    assert eng.options.scoring == "auto" and prep.large
    # the whole scoring, without the classifier's pruning (tests/asr/test_pruning.py has it)
    monkeypatch.setattr(eng, "options", replace(eng.options, prune_labels=0, view_phrases=0))
    whisper.warm_up(main_menu)  # null-input encodings are computed once, ahead of calls
    scored, encodes = [], []
    real_score, real_encode = eng.score_phrases, eng.encode
    monkeypatch.setattr(eng, "score_phrases", lambda enc, p, keep=None, seconds=None, kv=None, stale=None: scored.append(keep)
                        or real_score(enc, p, keep, seconds, kv))
    monkeypatch.setattr(eng, "encode", lambda pcm, frames=None, fit=False, wide=False: encodes.append(frames)
                        or real_encode(pcm, frames, fit))
    pcm8 = speechgen.phone_utterance("saya mau bayar pajak bumi dan bangunan", "id+m3", 145, 40, level_dbfs=-24,
                                     snr_db=25)
    pcm = audio.resample(pcm8, 8000, 16000)
    idle = eng.recognize(pcm, prep, busy=lambda: False)
    # first stage, every other phrase, then the leading labels once per view (speed 0.9, 1.1)
    assert len(scored) == 4 and np.array_equal(scored[0], prep.stage1)
    assert np.array_equal(scored[1], ~prep.stage1)  # every phrase in the end
    assert all(len(set(prep.label_of[k])) == eng.options.view_labels for k in scored[2:])
    assert encodes[0] == eng.frames_for(len(pcm) / 32000, True) and len(encodes) == 3
    assert idle.best_label == "pbb"
    assert set(idle.scores) == set(prep.labels)
    scored.clear()
    loaded = eng.recognize(pcm, prep, busy=lambda: True)
    assert len(scored) == 2 and scored[0].sum() < len(prep.items)  # no views while others wait
    second = scored[1]
    assert second.any() and len(set(prep.label_of[second])) <= eng.options.stage2_labels
    assert loaded.best_label == "pbb"


def test_busy_counts_decodes_sharing_the_cores(whisper):
    import threading

    gate = threading.Event()
    assert not whisper.busy()
    share = max(1, whisper.workers // 2)
    jobs = [whisper.submit(gate.wait, 5) for _ in range(share)]
    assert not whisper.busy()  # a decode alone (or with half the pool) keeps its cores
    extra = whisper.submit(gate.wait, 5)
    assert whisper.busy()
    gate.set()
    for j in [*jobs, extra]:
        j.result(timeout=5)
    # done-callbacks may run just after result() returns
    eventually_sync(lambda: not whisper.busy(), "the pool to report idle")


def test_the_audio_emergency_readings_are_computed_only_where_the_hotline_reads_them(tmp_path):
    # off by default (settings.emergency_audio): the recognizer then loads no emergency head and
    # computes no readings on menu turns; on with the setting
    from ivr.calls.engines import build_recognizer
    from ivr.config.settings import load_settings

    for setting, loaded in (("false", False), ("true", True)):
        rec = build_recognizer(load_settings(data_dir=tmp_path, emergency_audio=setting), engine="whisper")
        try:
            assert (rec.engine.audio_emergency is not None) is loaded
        finally:
            rec.close()


def test_recognizer_options_come_from_settings(tmp_path):
    from asr import create_recognizer
    from ivr.config.settings import PACK_PHRASES, PRUNE_LABELS, VIEW_PHRASES, load_settings

    s = load_settings(data_dir=tmp_path, whisper_scoring="fast", asr_workers=3, whisper_beam_size=2,
                      whisper_scorer="float32", whisper_views="0.85,1.2")
    opts = s.recognizer_options()
    assert opts == {"workers": 3, "threads": None, "whisper_scoring": "fast", "whisper_beam_size": 2,
                    "whisper_compute_type": "int8", "whisper_scorer": "float32", "whisper_text_beam_size": 1,
                    "whisper_text_decoder": "auto", "whisper_views": (0.85, 1.2), "whisper_audio_intent": True,
                    "whisper_audio_emergency": False, "whisper_wide_encoder": True, "whisper_prune_labels": PRUNE_LABELS,
                    "whisper_view_phrases": VIEW_PHRASES, "whisper_pack_phrases": PACK_PHRASES}
    assert load_settings(data_dir=tmp_path, emergency_audio="true").recognizer_options()["whisper_audio_emergency"] \
        is True
    assert load_settings(data_dir=tmp_path, whisper_audio_intent="false").recognizer_options()["whisper_audio_intent"] \
        is False
    assert load_settings(data_dir=tmp_path).whisper_views == [0.9, 1.1]
    assert load_settings(data_dir=tmp_path, whisper_views="").whisper_views == []
    from ivr.config.settings import SettingsError

    with pytest.raises(SettingsError, match="whisper_views"):
        load_settings(data_dir=tmp_path, whisper_views="1.0")
    with pytest.raises(ValueError, match="auto, full or fast"):
        create_recognizer("whisper", **{**opts, "whisper_scoring": "exhaustive"})
    with pytest.raises(ValueError, match="int8 or float32"):
        create_recognizer("whisper", **{**opts, "whisper_scorer": "int4"})
    with pytest.raises(ValueError, match="auto, int8 or ctranslate2"):
        create_recognizer("whisper", **{**opts, "whisper_text_decoder": "onnx"})


@pytest.mark.slow
def test_menu_transcripts_are_greedy_and_short_answers_use_the_beam(whisper, main_menu, yesno, monkeypatch):
    """Beside a menu's phrase scoring the transcript is decoded greedily on the int8 scoring
    graph (as accurate there, less CPU); a yes/no answer's transcript keeps CTranslate2's wider
    beam (its words often decide)."""
    from asr import audio

    eng = whisper.engine
    calls = []
    real, real_greedy = eng.decode_nbest, eng.greedy_text
    monkeypatch.setattr(eng, "decode_nbest", lambda enc, prompt=(), beam_size=5, n=1, max_length=120:
                        calls.append(("ctranslate2", beam_size)) or real(enc, prompt, beam_size, n, max_length))
    monkeypatch.setattr(eng, "greedy_text", lambda kv, max_length, stop=None:
                        calls.append(("graph", 1)) or real_greedy(kv, max_length, stop))
    menu = audio.resample(speechgen.phone_utterance("saya mau bayar pajak motor"), 8000, 16000)
    answer = audio.resample(speechgen.phone_utterance("iya benar"), 8000, 16000)
    # (what is recognised is tested elsewhere: espeak-ng's output depends on what the process
    # synthesised before, so a single utterance's label is not stable across test orders)
    assert set(eng.recognize(menu, eng.prepared(main_menu)).scores) == set(main_menu.labels)
    assert set(eng.recognize(answer, eng.prepared(yesno)).scores) == set(yesno.labels)
    assert calls == [("graph", 1), ("ctranslate2", 5)]
    # with the CTranslate2 text decoder configured, the menu's greedy search runs there
    calls.clear()
    monkeypatch.setattr(eng.options, "text_decoder", "ctranslate2")
    eng.recognize(menu, eng.prepared(main_menu))
    assert calls == [("ctranslate2", 1)]


@pytest.mark.slow
def test_graph_greedy_transcript_reads_the_audio_like_ctranslate2(whisper):
    """The int8 graph's greedy transcript of telephone speech is close to CTranslate2's greedy
    one (both run the same Whisper weights; int8 rounding moves a few tokens), and far from
    the transcript of other audio."""
    import numpy as np
    from rapidfuzz import fuzz

    from asr import audio

    eng = whisper.engine
    texts = []
    for words in ("saya mau membuat kartu keluarga baru", "tolong sambungkan ke petugas sekarang"):
        pcm = audio.resample(speechgen.phone_utterance(words, "id", 150, 50, snr_db=30.0), 8000, 16000)
        secs = len(pcm) / 32000
        enc = eng.encode(pcm, eng.frames_for(secs, True))
        (ct2,), _ = eng.decode_nbest(enc, (), 1, 1, eng.max_tokens(secs))
        (graph,), conf = eng.greedy_text(eng.scorer.cross_kv(np.asarray(enc)[0]), eng.max_tokens(secs))
        assert 0.0 < conf <= 1.0
        texts.append((ct2, graph))
    for i, (ct2, graph) in enumerate(texts):
        other = texts[1 - i][0]
        assert fuzz.ratio(ct2.lower(), graph.lower()) >= 60, (ct2, graph)
        assert fuzz.ratio(ct2.lower(), graph.lower()) > fuzz.ratio(other.lower(), graph.lower()) + 20


@pytest.mark.slow
def test_views_average_the_leading_labels_over_speeds(whisper, main_menu):
    """The utterance is heard again at the configured speeds; the leading labels' scores become
    the mean over the views, computed here independently, and every other label keeps its
    score. A stale recognition stops between views."""
    import threading

    from asr import audio
    from asr.whisper_backend import Stale

    eng = whisper.engine
    assert eng.options.views == (0.9, 1.1) and eng.options.view_labels == 3
    prep = eng.prepared(main_menu)
    pcm = audio.resample(speechgen.phone_utterance("saya mau bayar pajak motor", "id+m3", 150, 40,
                                                   level_dbfs=-26, snr_db=25), 8000, 16000)
    secs = len(pcm) / 32000
    enc = np.asarray(eng.encode(pcm, eng.frames_for(secs, True)))[0]
    base = prep.label_scores(eng.score_phrases(enc, prep))
    text = np.zeros(len(prep.labels))
    text[prep.labels.index("pbb")] = 0.5  # the text evidence takes part in choosing the leaders
    out = eng._with_views(pcm, prep, base, text, None)
    lead = np.argsort(-(base + text), kind="stable")[:3]
    assert prep.labels.index("pajak_kendaraan") in lead
    views = [base[lead]]
    keep = np.isin(prep.label_of, lead)  # (int8 activations are quantised per batch: same batch)
    for factor in (0.9, 1.1):
        p = audio.change_speed(pcm, factor)
        e = np.asarray(eng.encode(p, eng.frames_for(len(p) / 32000, True)))[0]
        views.append(prep.label_scores(eng.score_phrases(e, prep, keep))[lead])
    np.testing.assert_allclose(out[lead], np.mean(views, axis=0), rtol=1e-6)
    others = np.setdiff1d(np.arange(len(prep.labels)), lead)
    np.testing.assert_array_equal(out[others], base[others])
    assert not np.allclose(out[lead], base[lead])  # the views did change the leaders' scores
    stale = threading.Event()
    stale.set()
    with pytest.raises(Stale):
        eng._with_views(pcm, prep, base, text, stale)


@pytest.mark.slow
def test_views_started_early_or_run_at_once_give_the_same_scores(whisper, main_menu, monkeypatch):
    """The views encoded and scored at once (``views_parallel``, the default) and a lone
    utterance's fastest view encoded beside its own encoder pass (``views_early``, opt-in) give
    exactly the scores of the views one after the other. The early encoding is only for an
    utterance decoded alone."""
    import threading

    from asr import audio

    eng = whisper.engine
    prep = eng.prepared(main_menu)
    whisper.warm_up(main_menu)
    pcm = audio.resample(speechgen.phone_utterance("saya mau bayar pajak motor", "id+m3", 150, 40,
                                                   level_dbfs=-26, snr_db=25), 8000, 16000)
    threads: list[str] = []
    real_encode = eng.encode
    monkeypatch.setattr(eng, "encode", lambda pcm, frames=None, fit=False, wide=False: threads.append(
        threading.current_thread().name) or real_encode(pcm, frames, fit))
    base = eng.options
    assert base.views_parallel and not base.views_early
    # a speculative decode an earlier test left running would keep the early encoding off
    eventually_sync(lambda: eng._active == 0, "no other recognition under way")
    results = {}
    for early in (False, True):
        for parallel in (False, True):
            monkeypatch.setattr(eng, "options", replace(base, views_early=early, views_parallel=parallel))
            threads.clear()
            t = eng.recognize(pcm, prep, busy=lambda: False)
            assert "views_ms" in t.timings and len(threads) == 3
            # the early encoding and the views at once run off the calling thread
            assert sum(n.startswith("whisper-view") for n in threads) == early + parallel, (early, parallel, threads)
            results[early, parallel] = t.scores
    assert all(r == results[False, False] for r in results.values()), results
    # another recognition under way: no early encoding (it would take that one's core)
    monkeypatch.setattr(eng, "options", replace(base, views_early=True, views_parallel=False))
    monkeypatch.setattr(eng, "_active", 1)
    threads.clear()
    assert eng.recognize(pcm, prep, busy=lambda: False).scores == results[False, False]
    assert len(threads) == 3 and not any(n.startswith("whisper-view") for n in threads)


@pytest.mark.slow
def test_a_stale_recognition_encodes_no_early_view(whisper, main_menu, monkeypatch):
    """A speculative decode already stale (the caller went on speaking) stops without the
    early view's encoder pass (``views_early``): no CPU is left running for it."""
    import threading

    from asr import audio
    from asr.whisper_backend import Stale

    eng = whisper.engine
    prep = eng.prepared(main_menu)
    monkeypatch.setattr(eng, "options", replace(eng.options, views_early=True))
    pcm = audio.resample(speechgen.phone_utterance("saya mau bayar pajak motor", "id+m3", 150, 40,
                                                   level_dbfs=-26, snr_db=25), 8000, 16000)
    encodes, jobs = [], []
    real_encode, real_submit = eng.encode, eng._views.submit
    monkeypatch.setattr(eng, "encode", lambda pcm, frames=None, fit=False, wide=False: encodes.append(frames)
                        or real_encode(pcm, frames, fit))
    monkeypatch.setattr(eng._views, "submit", lambda *a: jobs.append(real_submit(*a)) or jobs[-1])
    stale = threading.Event()
    stale.set()
    eventually_sync(lambda: eng._active == 0, "no other recognition under way")
    with pytest.raises(Stale):
        eng.recognize(pcm, prep, stale, busy=lambda: False)
    assert len(jobs) == 1  # the early job was asked for (whether the views run is not known then)
    # ... and ended (or was cancelled before it started) without an encoder pass
    eventually_sync(lambda: jobs[0].done(), "the early view job")
    assert jobs[0].cancelled() or jobs[0].result() is None
    assert len(encodes) == 1


@pytest.mark.slow
def test_views_are_skipped_while_callers_wait(whisper, main_menu, monkeypatch):
    """With scoring "auto" the views run when the utterance has the cores to itself and are
    skipped while other utterances wait for the CPU (as the second scoring stage is cut)."""
    from asr import audio

    eng = whisper.engine
    seen = []
    real = eng._with_views
    monkeypatch.setattr(eng, "_with_views", lambda *a: seen.append(1) or real(*a))
    pcm = audio.resample(speechgen.phone_utterance("kartu bpjs saya tidak aktif", "id", 160, 50,
                                                   level_dbfs=-26, snr_db=25), 8000, 16000)
    prep = eng.prepared(main_menu)
    idle = eng.recognize(pcm, prep, busy=lambda: False)
    assert seen == [1]
    loaded = eng.recognize(pcm, prep, busy=lambda: True)
    assert seen == [1]
    assert idle.best_label == loaded.best_label == "bpjs_kesehatan"


@pytest.mark.slow
def test_a_decisive_first_pass_is_the_answer_and_otherwise_nothing_changes(whisper, main_menu, monkeypatch):
    """``enough`` (RecognitionStream.enough): the recognizer asks it after the first stage and,
    before the extra hearings, after the second; a yes ends the decode there. A no every time
    gives exactly the whole scoring's result."""
    from asr import audio

    eng = whisper.engine
    prep = eng.prepared(main_menu)
    whisper.warm_up(main_menu)
    pcm8 = speechgen.phone_utterance("saya mau bayar pajak bumi dan bangunan", "id+m3", 145, 40, level_dbfs=-24,
                                     snr_db=25)
    pcm = audio.resample(pcm8, 8000, 16000)
    whole = eng.recognize(pcm, prep, busy=lambda: False)
    asked: list[Transcript] = []
    refused = eng.recognize(pcm, prep, busy=lambda: False, enough=lambda t: asked.append(t) or False)
    assert len(asked) == 2  # after the first stage and after the second
    assert [t.stage for t in asked] == ["first", "second"] and refused.stage == "whole"
    assert refused.scores == whole.scores and refused.text == whole.text
    assert "first_pass" not in refused.timings and refused.timings["views_ms"] > 0
    encodes: list[int | None] = []
    real_encode = eng.encode
    monkeypatch.setattr(eng, "encode", lambda pcm, frames=None, fit=False, wide=False: encodes.append(frames)
                        or real_encode(pcm, frames, fit))
    first = eng.recognize(pcm, prep, busy=lambda: False, enough=lambda t: True)
    assert first.timings["first_pass"] == 1 and len(encodes) == 1  # no extra hearing
    assert first.stage == "first"
    assert first.scores == asked[0].scores and first.best_label == asked[0].best_label
    encodes.clear()
    calls: list[Transcript] = []
    second = eng.recognize(pcm, prep, busy=lambda: False, enough=lambda t: calls.append(t) or len(calls) == 2)
    assert second.timings["second_pass"] == 1 and len(encodes) == 1 and "first_pass" not in second.timings
    assert second.scores == asked[1].scores


def test_the_understander_takes_a_first_pass_only_when_it_would_act_on_it(script):
    """Understander.decisive: menu-sized intent listens only; an accepted decision or an
    emergency is decisive, an unsure one is not."""
    from ivr.calls.understand import live_understander

    und = live_understander(None, script)  # type: ignore[arg-type]  # decide() needs no recognizer
    assert und.decisive(script.listen_action("yesno")) is None
    menu = script.listen_action(script.entry_menu)
    enough = und.decisive(menu)
    assert enough is not None
    labels = list(menu.expect)
    flat = {lab: 1 / len(labels) for lab in labels}
    assert not enough(Transcript(text="eh", confidence=0.05, scores=flat))
    fire = {lab: (0.6 if lab == "darurat" else 0.4 / (len(labels) - 1)) for lab in labels}
    assert enough(Transcript(text="tolong rumah saya kebakaran", confidence=0.6, scores=fire))


def test_the_extra_hearings_are_skipped_only_for_a_decision_already_accepted(script):
    """Understander.decisive on the second stage's result (``Transcript.stage`` "second", asked
    before the extra hearings): an accepted decision short of the first pass's bar skips them;
    the same result as a first pass does not end the decode, and an unsure one never does."""
    from asr import Word
    from ivr.calls.understand import FIRST_PASS_AT, SECOND_PASS_AT, live_understander

    und = live_understander(None, script)  # type: ignore[arg-type]  # decide() needs no recognizer
    menu = script.listen_action(script.entry_menu)
    enough = und.decisive(menu)
    assert enough is not None
    labels = list(menu.expect)

    def result(text: str, label: str, top: float, second: bool) -> Transcript:
        scores = {lab: (top if lab == label else (1 - top) / (len(labels) - 1)) for lab in labels}
        return Transcript(text=text, confidence=top, words=tuple(Word(w, confidence=0.8) for w in text.split()),
                          scores=scores, audio_seconds=2.0, stage="second" if second else "first")

    sure = result("ktp saya hilang", "ktp", 0.5, second=False)
    u = und.decide(sure, menu)
    assert u.intent == "ktp" and SECOND_PASS_AT <= u.confidence < FIRST_PASS_AT, u
    assert not enough(sure)  # as a first pass: the whole scoring follows
    assert enough(result("ktp saya hilang", "ktp", 0.5, second=True))  # before the hearings: enough
    unsure = result("saya mau tanya soal itu", "ktp", 0.12, second=True)
    assert und.decide(unsure, menu).confidence < SECOND_PASS_AT
    assert not enough(unsure)
    # an emergency ends a first pass, but before the hearings it is left to them
    fire = result("tolong rumah saya kebakaran", "darurat", 0.6, second=False)
    assert und.decide(fire, menu).emergency == "now" and enough(fire)
    assert not enough(result("tolong rumah saya kebakaran", "darurat", 0.6, second=True))


def test_the_pass_gate_reads_the_transcripts_stage_not_its_timings(script):
    """Which bar applies is told by ``Transcript.stage`` alone: diagnostic timings (``score2_ms``)
    neither make a first pass a second nor are needed for one."""
    from ivr.calls.understand import live_understander

    und = live_understander(None, script)  # type: ignore[arg-type]  # decide() needs no recognizer
    menu = script.listen_action(script.entry_menu)
    enough = und.decisive(menu)
    assert enough is not None
    labels = list(menu.expect)
    scores = {lab: (0.5 if lab == "ktp" else 0.5 / (len(labels) - 1)) for lab in labels}
    accepted = Transcript(text="ktp saya hilang", confidence=0.5, scores=scores, audio_seconds=2.0)
    # accepted on the script's ladder, short of the first pass's bar: only a second stage ends here
    assert not enough(replace(accepted, stage="first", timings={"score2_ms": 90.0}))
    assert enough(replace(accepted, stage="second", timings={}))
    assert not enough(accepted)  # "whole": never handed to the gate by a backend; the strict bar
