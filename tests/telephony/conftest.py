"""Shared fixtures for the telephony tests."""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path

import pytest

from telephony.peer.audio import write_wav

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "asterisk-22"


def fixtures_dir() -> Path:
    """The recorded Asterisk 22.10.1 wire transcripts (see the README there); part of the repo."""
    return FIXTURES


def load_jsonl(name: str) -> list[dict]:
    path = FIXTURES / name
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def tone(seconds: float, freq: float = 440.0, amp: int = 6000, rate: int = 8000) -> bytes:
    n = int(seconds * rate)
    return struct.pack(f"<{n}h", *(int(amp * math.sin(2 * math.pi * freq * i / rate)) for i in range(n)))


@pytest.fixture(scope="session")
def sounds_dir(tmp_path_factory) -> Path:
    """Prompts with the fixture's lengths: ivr/thanks has 11098 samples, as on the real box."""
    d = tmp_path_factory.mktemp("sounds")
    (d / "ivr").mkdir()
    pcm = tone(2.0)
    write_wav(d / "ivr" / "thanks.wav", pcm[: 11098 * 2])
    write_wav(d / "ivr" / "welcome.wav", tone(3.0, 330))
    write_wav(d / "ivr" / "enter_digits.wav", tone(1.0, 550))
    write_wav(d / "beep.wav", tone(0.25, 1000))
    (d / "xx" / "digits").mkdir(parents=True)
    for i in range(10):
        write_wav(d / "xx" / "digits" / f"{i}.wav", tone(0.3, 300 + 40 * i))
    return d


def decode_all(codec, data: bytes, need, chunk: int | None = None) -> list:
    """Feed ``data`` to a sans-IO codec whole or in ``chunk``-byte pieces and collect every event
    until the codec asks for more (``need`` is that codec module's NEED_DATA sentinel)."""
    out = []
    chunks = [data] if chunk is None else [data[i:i + chunk] for i in range(0, len(data), chunk)]
    for c in chunks:
        codec.receive_data(c)
        while (ev := codec.next_event()) is not need:
            out.append(ev)
    return out
