"""Spoken turns for the dialog probes: a text said by an espeak-ng voice through the 8 kHz
telephone chain, decided by the live understander (the shipped calibrator and emergency
reading) with a given listen, as the engine's ``Heard`` event. Used by probe_cancel.py and
probe_offer_answer.py."""

from __future__ import annotations

import argparse
from types import TracebackType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dialogs import Heard, Listen, Script

#: (voice, rate, pitch) in the order the probes take them (``--voices N``: the first N)
VOICES = [("id+m3", 150, 50), ("id+f2", 140, 60), ("id", 160, 45), ("id+m1", 170, 40)]


def voices_arg(ap: argparse.ArgumentParser, default: int = 3) -> None:
    ap.add_argument("--voices", type=int, default=default, help=f"voices (1-{len(VOICES)})")


class SpokenTurns:
    """The recognizer and the live understander for ``script``; close it (or use ``with``)."""

    def __init__(self, script: Script) -> None:
        from ivr.calls.engines import build_recognizer
        from ivr.calls.understand import live_understander
        from ivr.config.settings import load_settings

        self.recognizer = build_recognizer(load_settings())
        self.understander = live_understander(self.recognizer, script)

    async def heard(self, text: str, listen: Listen, voice: tuple[str, int, int], seed: int) -> Heard:
        from asr import audio
        from dialogs import Heard
        from tests import speechgen

        name, rate, pitch = voice
        pcm = speechgen.phone_utterance(text, name, rate, pitch, level_dbfs=-24, snr_db=25, seed=seed, pad_s=0.3)
        res = await self.understander.understand_pcm(audio.resample(pcm, 8000, 16000), 16000, listen)
        return Heard(res.text, res.confidence, intent=res.intent, emergency=res.emergency)

    def close(self) -> None:
        self.recognizer.close()

    def __enter__(self) -> SpokenTurns:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()
