import numpy as np
import pytest

from asr import AudioFormatError, audio


def tone(freq: float, rate: int, seconds: float = 0.5, amp: float = 0.5) -> bytes:
    t = np.arange(int(rate * seconds)) / rate
    return audio.float_to_pcm(amp * np.sin(2 * np.pi * freq * t))


def test_ulaw_matches_g711_reference_points():
    pcm = np.array([0, -1, 32767, -32768, 1000, -1000], dtype="<i2").tobytes()
    assert audio.ulaw_encode(pcm) == bytes([0xFF, 0x7E, 0x80, 0x00, 0xCE, 0x4E])
    decoded = np.frombuffer(audio.ulaw_decode(bytes([0x00, 0x80, 0xFF, 0x7F])), dtype="<i2")
    assert decoded.tolist() == [-32124, 32124, 0, 0]


def test_alaw_matches_g711_reference_points():
    pcm = np.array([0, -1, 32767, -32768], dtype="<i2").tobytes()
    assert audio.alaw_encode(pcm) == bytes([0xD5, 0x55, 0xAA, 0x2A])
    assert np.frombuffer(audio.alaw_decode(bytes([0xD5, 0x2A])), dtype="<i2").tolist() == [8, -32256]


@pytest.mark.parametrize("codec", ["ulaw", "alaw"])
def test_companding_round_trip_error_is_relative(codec):
    enc, dec = getattr(audio, f"{codec}_encode"), getattr(audio, f"{codec}_decode")
    x = np.linspace(-30000, 30000, 4001).astype("<i2")
    y = np.frombuffer(dec(enc(x.tobytes())), dtype="<i2").astype(float)
    err = np.abs(y - x)
    # 8-bit logarithmic coding: error within ~3.2% of the value (plus a small absolute floor)
    assert np.all(err <= 0.032 * np.abs(x) + 20)
    # decoding an encoded decoded value is stable (idempotent codebook)
    assert dec(enc(dec(enc(x.tobytes())))) == dec(enc(x.tobytes()))


def test_odd_byte_count_is_rejected():
    with pytest.raises(AudioFormatError):
        audio.ulaw_encode(b"\x00\x01\x02")


def test_resample_keeps_passband_and_removes_aliases():
    rate_in = 16000
    kept = np.frombuffer(audio.resample(tone(1000, rate_in), rate_in, 8000), dtype="<i2").astype(float)
    assert len(kept) == 4000
    assert np.sqrt(np.mean(kept[400:-400] ** 2)) == pytest.approx(0.5 * 32768 / np.sqrt(2), rel=0.05)
    # a 5 kHz tone cannot exist at 8 kHz: a naive decimation would fold it to 3 kHz
    folded = np.frombuffer(audio.resample(tone(5000, rate_in), rate_in, 8000), dtype="<i2").astype(float)
    assert np.sqrt(np.mean(folded[400:-400] ** 2)) < 0.5 * 32768 * 10 ** (-50 / 20)


def test_resample_up_and_same_rate():
    up = audio.resample(tone(440, 8000), 8000, 16000)
    assert len(up) == 2 * len(tone(440, 8000))
    assert audio.resample(b"\x01\x00", 8000, 8000) == b"\x01\x00"


@pytest.mark.parametrize("factor", [0.9, 1.1])
def test_change_speed_scales_duration_and_pitch(factor):
    pcm = tone(1000, 16000, seconds=1.0)
    out = audio.change_speed(pcm, factor)
    assert len(out) / 2 == pytest.approx(16000 / factor, abs=2)
    x = audio.pcm_to_float(out)
    spectrum = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    peak_hz = np.argmax(spectrum) * 16000 / x.size
    assert peak_hz == pytest.approx(1000 * factor, abs=5)
    assert audio.change_speed(pcm, 1.0) == pcm
    with pytest.raises(AudioFormatError):
        audio.change_speed(pcm, 0)


def test_wav_round_trip(tmp_path):
    pcm = tone(300, 8000, 0.25)
    path = audio.write_wav(tmp_path / "a.wav", pcm, 8000)
    assert audio.read_wav(path) == (pcm, 8000)


def test_read_wav_stereo_8bit_and_mulaw(tmp_path):
    import wave

    left = np.full(100, 10000, dtype="<i2")
    right = np.full(100, -2000, dtype="<i2")
    p = tmp_path / "st.wav"
    with wave.open(str(p), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(np.stack([left, right], 1).tobytes())
    pcm, rate = audio.read_wav(p)
    assert rate == 16000 and np.frombuffer(pcm, dtype="<i2").tolist() == [4000] * 100

    p8 = tmp_path / "u8.wav"
    with wave.open(str(p8), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(1)
        w.setframerate(8000)
        w.writeframes(bytes([128, 255, 0]))
    assert np.frombuffer(audio.read_wav(p8)[0], dtype="<i2").tolist() == [0, 127 * 256, -32768]

    # G.711 mu-law WAV (format tag 7), as Asterisk can record
    body = audio.ulaw_encode(tone(500, 8000, 0.1))
    fmt = (7).to_bytes(2, "little") + (1).to_bytes(2, "little") + (8000).to_bytes(4, "little") \
        + (8000).to_bytes(4, "little") + (1).to_bytes(2, "little") + (8).to_bytes(2, "little")
    riff = b"WAVE" + b"fmt " + len(fmt).to_bytes(4, "little") + fmt + b"data" + len(body).to_bytes(4, "little") + body
    data = b"RIFF" + len(riff).to_bytes(4, "little") + riff
    pcm, rate = audio.read_wav(data)
    assert rate == 8000 and pcm == audio.ulaw_decode(body)


def test_read_wav_rejects_garbage(tmp_path):
    p = tmp_path / "x.wav"
    p.write_bytes(b"not a wav file at all")
    with pytest.raises(AudioFormatError, match="RIFF"):
        audio.read_wav(p)
