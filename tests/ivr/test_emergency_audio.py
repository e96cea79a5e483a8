"""The audio's emergency readings in the live decision (ivr.calls.understand, with
settings.emergency_audio): a borderline emergency the audio sounds like is acted on at once; the
words' veto and the rule's own limits still hold."""

from __future__ import annotations

import pytest

from asr import EmergencyAudio, Transcript
from dialogs import default_script_path, load_script
from ivr.calls import understand as U


@pytest.fixture(scope="module")
def script():
    return load_script(default_script_path())


def _turn(script, text: str, darurat: float, audio: EmergencyAudio | None) -> Transcript:
    labels = list(script.expectations("main_menu"))
    rest = (1.0 - darurat) / (len(labels) - 1)
    scores = {lab: (darurat if lab == "darurat" else rest) for lab in labels}
    return Transcript(text=text, confidence=darurat, scores=scores, audio_seconds=3.0, emergency_audio=audio)


def test_a_borderline_emergency_that_sounds_like_one_is_acted_on_at_once(script):
    listen = script.listen_action("main_menu")
    loud = EmergencyAudio(head=0.95, intent=0.5)
    garbled = _turn(script, "hana kemakaan di dunand deka rumat haja", 0.2, loud)
    off = U.live_understander(None, script).decide(garbled, listen)
    on = U.live_understander(None, script, emergency_audio=True).decide(garbled, listen)
    assert off.emergency == "maybe" and on.emergency == "now" and on.intent == "darurat"


@pytest.mark.parametrize("text, darurat, audio", [
    ("hana kemakaan di dunand deka rumat haja", 0.2, EmergencyAudio(head=0.95, intent=0.1)),  # one reading low
    ("hana kemakaan di dunand deka rumat haja", 0.2, EmergencyAudio(head=0.4, intent=0.9)),
    ("hana kemakaan di dunand deka rumat haja", 0.2, None),  # no reading (another recognizer)
    ("rumah saya dulu kebanjiran, sekarang mau urus akta", 0.2, EmergencyAudio(0.99, 0.99)),  # the words veto
    ("hana kemakaan di dunand deka rumat haja", 0.02, EmergencyAudio(0.99, 0.99)),  # darurat far behind
    # the readings of the dev passing mention d178 ("rumah saya dulu kebanjiran, sekarang mau
    # urus kk baru", garbled) under the convolution classifier: below the head's bar (phase 6 emerg3)
    ("lupa, saya lupa, saya lupa, saya lupa", 0.2, EmergencyAudio(head=0.629, intent=0.576)),
    # a service request the head hears loudly but the classifier does not (dev d107)
    ("dan juga matam, kecil dipesa kami rusak", 0.2, EmergencyAudio(head=0.834, intent=0.182)),
    # d178 again, as the phase 7 renderings were heard: both readings over the bars (0.762 /
    # 0.623), the request word "mahu" ("sekarang mau ...") keeps the audio from acting
    ("Ruba, kaya, nukada, hidup, sekaran mahu, kakabari.", 0.094, EmergencyAudio(head=0.762, intent=0.623)),
    # and its other replica: "dulu" glued to "saya" still reads as the past
    ("Rumah sayaduluk kebanyira, sekaran mauskan kamaru.", 0.165, EmergencyAudio(head=0.99, intent=0.99)),
])
def test_the_audio_alone_never_makes_an_emergency(script, text, darurat, audio):
    listen = script.listen_action("main_menu")
    u = U.live_understander(None, script, emergency_audio=True).decide(_turn(script, text, darurat, audio), listen)
    assert u.emergency != "now", u
