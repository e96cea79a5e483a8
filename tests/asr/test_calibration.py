"""The confidence calibrator (asr.calibration): features of a turn, the shipped fit, and the
mapping onto the script's accept/confirm ladder."""

import math

import pytest

from asr.calibration import DEFAULT_PATH, Calibrator, TurnEvidence, features

LABELS = ("ktp", "kk", "bpjs_kesehatan", "pengaduan")


def evidence(decided="ktp", p=0.7, asr_p=0.7, matcher="ktp", views_agree=True, text="saya mau bikin ktp baru"):
    rest = (1 - p) / (len(LABELS) - 1)
    fused = {lab: (p if lab == decided else rest) for lab in LABELS}
    asr = {lab: (asr_p if lab == decided else (1 - asr_p) / (len(LABELS) - 1)) for lab in LABELS}
    other = "kk" if decided != "kk" else "ktp"
    views = {decided: [3.0, 2.8, 3.1], other: [1.0, 1.2, 0.9] if views_agree else [1.0, 3.5, 4.0]}
    return TurnEvidence(decided=decided, fused=fused, asr=asr, text=text, text_confidence=0.4, audio_seconds=2.5,
                        matcher_intent=matcher, matcher_confidence=0.8 if matcher else 0.0, views=views)


def test_features_read_agreement_margin_and_loops():
    f = features(evidence())
    assert f["asr_agrees"] == 1.0 and f["matcher_agrees"] == 1.0 and f["views_agree"] == 1.0
    assert f["log_margin"] == pytest.approx(math.log(0.7 / 0.1))
    g = features(evidence(matcher="kk", views_agree=False, text="kaya mau kaya mau kaya mau kaya mau"))
    assert g["matcher_agrees"] == 0.0 and g["matcher_confidence"] == 0.0
    assert g["views_agree"] == pytest.approx(1 / 3)
    assert g["repeated_words"] == pytest.approx(0.75)
    assert all(math.isfinite(v) for v in g.values())


def test_features_without_views_or_scores_are_finite():
    f = features(TurnEvidence(decided=None, fused={}, asr={}))
    assert all(math.isfinite(v) for v in f.values())


@pytest.fixture(scope="module")
def shipped():
    return Calibrator.load(DEFAULT_PATH)


def test_the_shipped_calibrator_says_where_it_was_fitted(shipped):
    assert "dev" in str(shipped.info["fitted_on"])
    assert 0.0 < shipped.confirm_at < shipped.accept_at < 1.0
    assert set(shipped.names) <= set(features(evidence()))


def test_agreement_is_trusted_more_than_disagreement(shipped):
    sure = shipped.probability(evidence(p=0.8, asr_p=0.8))
    torn = shipped.probability(evidence(p=0.25, asr_p=0.2, matcher="kk", views_agree=False,
                                        text="kaya mau kaya mau kaya mau kaya mau"))
    assert 0.0 <= torn < sure <= 1.0
    assert sure > shipped.accept_at > torn


def test_script_confidence_keeps_the_script_ladder(shipped):
    c = shipped.script_confidence
    assert c(shipped.accept_at) == pytest.approx(0.6)
    assert c(shipped.confirm_at) == pytest.approx(0.3)
    assert 0.3 <= c((shipped.accept_at + shipped.confirm_at) / 2) < 0.6
    assert c(shipped.confirm_at / 2) < 0.3
    assert c(1.0) == pytest.approx(1.0)
    xs = [i / 100 for i in range(101)]
    ys = [c(x) for x in xs]
    assert ys == sorted(ys)


def test_round_trip_through_json(shipped, tmp_path):
    path = tmp_path / "cal.json"
    path.write_text(shipped.to_json())
    again = Calibrator.load(path)
    e = evidence(p=0.5)
    assert again.probability(e) == pytest.approx(shipped.probability(e))
