"""The live decision hands the dialog the emergency's weight among the services: "near" (some
weight, under the safety question's bar), so a confirmation question names 112 first."""

from __future__ import annotations

import pytest

from asr import Transcript
from dialogs import DialogEngine, default_script_path, load_script
from dialogs.actions import Say
from dialogs.emergency import DEFAULT as DETECTOR
from dialogs.events import CallStarted, Heard
from ivr.calls import understand as U


@pytest.fixture(scope="module")
def script():
    return load_script(default_script_path())


def _turn(script, text: str, lead: str, darurat: float) -> Transcript:
    labels = list(script.expectations("main_menu"))
    scores = {lab: 0.0 for lab in labels}
    scores["darurat"] = darurat
    scores[lead] = 0.45
    rest = (1.0 - sum(scores.values())) / (len(labels) - 2)
    scores = {lab: (p if lab in ("darurat", lead) else rest) for lab, p in scores.items()}
    return Transcript(text=text, confidence=0.45, scores=scores, audio_seconds=3.0)


def _first_reply(script, u) -> tuple[DialogEngine, str]:
    e = DialogEngine(script)
    e.handle(CallStarted())
    acts = e.handle(Heard(u.text, u.confidence, intent=u.intent, emergency=u.emergency))
    return e, " ".join(a.text for a in acts if isinstance(a, Say))


def test_an_emergency_with_some_weight_is_near_and_its_confirmation_names_112(script):
    listen = script.listen_action("main_menu")
    und = U.Understander(None, script, detector=DETECTOR)  # no calibrator: the fused confidence
    near = und.decide(_turn(script, "tolong rumah kebak karan", "pengaduan", DETECTOR.near_min + 0.02), listen)
    assert near.intent == "pengaduan" and near.emergency == "near"
    e, said = _first_reply(script, near)
    assert e.phase == "confirming" and said.index("112") < said.index("Maksud Anda"), said

    far = und.decide(_turn(script, "tolong rumah kebak karan", "pengaduan", DETECTOR.near_min / 3), listen)
    assert far.intent == "pengaduan" and far.emergency == ""
    e, said = _first_reply(script, far)
    assert e.phase == "confirming" and "112" not in said, said


def test_paperwork_words_keep_the_number_away(script):
    listen = script.listen_action("main_menu")
    und = U.Understander(None, script, detector=DETECTOR)
    u = und.decide(_turn(script, "saya mau urus akta kelahiran anak", "akta_kelahiran", 0.2), listen)
    assert u.emergency == ""
