"""The audio leaf: one clipping rule, one resampler and one WAV reader for asr, tts and the
simulated Asterisk."""

from __future__ import annotations

import wave

import numpy as np
import pytest

import pcm


def tone(freq: float, rate: int, seconds: float = 0.2, amp: float = 0.5) -> bytes:
    t = np.arange(int(rate * seconds)) / rate
    return pcm.float_to_pcm(amp * np.sin(2 * np.pi * freq * t))


def test_the_clipping_rule():
    x = np.array([0.0, 0.5, -0.5, 1.0, -1.0, 1.5, -1.5, 32767.5 / 32768, 1 / 65536, 3 / 65536])
    assert np.frombuffer(pcm.float_to_pcm(x), dtype="<i2").tolist() == [
        0, 16384, -16384, 32767, -32768, 32767, -32768, 32767, 0, 2]   # half to even
    # reading a float WAV follows it too
    f32 = np.array([0.5, 1.5, -2.0, 1 / 65536], dtype="<f4").tobytes()
    fmt = (3).to_bytes(2, "little") + (1).to_bytes(2, "little") + (8000).to_bytes(4, "little") \
        + (32000).to_bytes(4, "little") + (4).to_bytes(2, "little") + (32).to_bytes(2, "little")
    riff = b"WAVE" + b"fmt " + len(fmt).to_bytes(4, "little") + fmt + b"data" + len(f32).to_bytes(4, "little") + f32
    data, rate = pcm.read_wav(b"RIFF" + len(riff).to_bytes(4, "little") + riff)
    assert rate == 8000 and np.frombuffer(data, dtype="<i2").tolist() == [16384, 32767, -32768, 0]


def test_every_package_resamples_and_reads_alike(tmp_path):
    from asr import audio
    from telephony.peer import audio as peer_audio
    from tts import Audio, read_wav, resample

    voice = tone(440, 22050, amp=0.99) + tone(3000, 22050, amp=0.99)
    want = pcm.resample(voice, 22050, 8000)
    assert audio.resample(voice, 22050, 8000) == want
    assert resample(Audio(voice, 22050), 8000).pcm == want
    assert peer_audio.resample(voice, 22050, 8000) == want
    p = tmp_path / "v.wav"
    with wave.open(str(p), "wb") as w:   # stereo: each reader mixes it down the same way
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(np.repeat(np.frombuffer(want, dtype="<i2"), 2).astype("<i2").tobytes())
    assert pcm.read_wav(p) == audio.read_wav(p) == peer_audio.read_wav(p) == (want, 8000)
    assert read_wav(p) == Audio(want, 8000)


def test_resampling_band_limits_and_keeps_matching_rates():
    kept = np.frombuffer(pcm.resample(tone(1000, 16000), 16000, 8000), dtype="<i2").astype(float)
    folded = np.frombuffer(pcm.resample(tone(5000, 16000), 16000, 8000), dtype="<i2").astype(float)
    assert np.sqrt(np.mean(folded ** 2)) < 0.01 * np.sqrt(np.mean(kept ** 2))
    assert pcm.resample(b"\x01\x00", 8000, 8000) == b"\x01\x00"
    with pytest.raises(pcm.PcmError):
        pcm.resample(b"\x00\x00", 0, 8000)


def test_errors_are_value_errors_and_asr_keeps_its_own():
    from asr import AsrError, AudioFormatError, audio

    with pytest.raises(pcm.PcmError, match="even byte count"):
        pcm.ulaw_encode(b"\x00\x01\x02")
    with pytest.raises(AudioFormatError) as exc:
        audio.ulaw_encode(b"\x00\x01\x02")
    assert isinstance(exc.value, AsrError) and isinstance(exc.value, pcm.PcmError)
    assert issubclass(pcm.PcmError, ValueError)
    with pytest.raises(ValueError, match="RIFF"):
        pcm.read_wav(b"RIFF garbage")


def test_wav_round_trip_is_atomic(tmp_path):
    data = tone(300, 8000)
    path = pcm.write_wav(tmp_path / "a.wav", data, 8000)
    assert pcm.read_wav(path) == (data, 8000)
    assert not list(tmp_path.glob("*.part"))
