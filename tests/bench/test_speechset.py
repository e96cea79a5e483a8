"""The bench's spoken set: labels that exist in the script, a deterministic telephone chain,
and renderings that do not depend on what espeak-ng synthesised before."""

import numpy as np
import pytest

from bench import speechchain, speechset
from bench.speechchain import Chain


def test_every_label_is_an_intent_of_the_default_script_or_out_of_scope():
    from dialogs import default_script_path, load_script

    script = load_script(default_script_path())
    labels = set(script.expectations("main_menu")) | {"none"}
    for part in speechset.PARTS:
        rows = speechset.read_rows(part)
        assert rows and {r.label for r in rows} <= labels, part
        assert {r.kind for r in rows} <= {"service", "global", "oos", "emergency", "passing"}
        assert all((r.label == "darurat") == (r.kind == "emergency") for r in rows)


def test_pause_rows_mark_their_pauses_and_expectations():
    rows = speechset.read_rows("pauses")
    assert {r.part for r in rows} == {"dev", "test"}
    for r in rows:
        assert r.expect.split(":")[0] in ("intent", "yesno", "digits", "free")
        lengths = speechset.pause_lengths(r, 0)
        assert len(lengths) == r.text.count("|")
        assert all(0.25 <= x <= 1.2 for x in lengths)


def tone(seconds=2.0, rate=22050):
    t = np.arange(int(seconds * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * 440 * t) * (1 + np.sin(2 * np.pi * 3 * t))).astype(np.float32)


def pcm(x: bytes) -> np.ndarray:
    return np.frombuffer(x, dtype="<i2").astype(np.float64)


@pytest.mark.parametrize("noise", speechchain.NOISES)
def test_the_chain_is_deterministic_and_keeps_the_level(noise):
    ch = Chain(noise=noise, snr_db=15, level_dbfs=-26, seed=7)
    voices = [tone(1.0)[::3]]
    a = speechchain.apply(tone(), 22050, ch, voices)
    b = speechchain.apply(tone(), 22050, ch, voices)
    assert a == b and len(a) == 2 * 16000
    level = 20 * np.log10(speechchain.active_rms(pcm(a) / 32768))
    assert -29 < level < -23


def test_noise_sits_at_the_snr():
    silent = np.zeros(22050 * 2, dtype=np.float32)
    clean = speechchain.apply(tone(), 22050, Chain(noise="none", level_dbfs=-26))
    noisy = speechchain.apply(tone(), 22050, Chain(noise="pink", snr_db=10, level_dbfs=-26, seed=1))
    noise = pcm(noisy) - pcm(clean)
    snr = 10 * np.log10(np.mean(pcm(clean) ** 2) / np.mean(noise ** 2))
    assert 8 < snr < 12
    assert speechchain.apply(silent, 22050, Chain(noise="none")) == bytes(len(clean))


def test_lost_frames_are_concealed_as_asked():
    x = np.full(8000 * 4, 1000.0)
    rng = np.random.default_rng(3)
    zero = speechchain.lose_frames(x, 0.1, 1.5, "zero", rng)
    frames = zero.reshape(-1, speechchain.FRAME)
    lost = np.all(frames == 0, axis=1).mean()
    assert 0.04 < lost < 0.2
    rep = speechchain.lose_frames(x, 0.1, 1.5, "repeat", np.random.default_rng(3))
    faded = rep.reshape(-1, speechchain.FRAME)[np.all(frames == 0, axis=1)]
    assert np.all((faded > 0) & (faded < 1000))


def test_clipping_flattens_the_peaks():
    clipped = pcm(speechchain.apply(tone(), 22050, Chain(noise="none", clip_db=9)))
    plain = pcm(speechchain.apply(tone(), 22050, Chain(noise="none")))
    crest = lambda y: np.max(np.abs(y)) / np.sqrt(np.mean(y ** 2))  # noqa: E731
    assert crest(clipped) < crest(plain) - 0.5


def test_renderings_do_not_depend_on_synthesis_order(tmp_path):
    rows = speechset.read_rows("dev")[:3]
    jobs = [(r.text, speechset.condition(r, 0)[0]) for r in rows]
    first = speechset.AudioCache(tmp_path / "a", workers=1).clean_many(jobs)
    again = speechset.AudioCache(tmp_path / "b", workers=2).clean_many(jobs[::-1])[::-1]
    for (x, rx), (y, ry) in zip(first, again, strict=True):
        assert rx == ry and np.array_equal(x, y)
    # and the cache is read back as written
    cached = speechset.AudioCache(tmp_path / "a", workers=1)
    assert all(np.array_equal(x, y) for (x, _), (y, _) in zip(cached.clean_many(jobs), first, strict=True))
    assert cached.rendered == 0


def test_the_tests_speech_generator_renders_what_the_bench_renders(tmp_path):
    """tests.speechgen.render_fresh and the bench's cache: one pure rendering, two ways."""
    from tests import speechgen

    voice = speechset.Voice("id+f2", 175, 60)
    (x, rate), = speechset.AudioCache(tmp_path, workers=1).clean_many([("kartu keluarga saya hilang", voice)])
    pcm, rate2 = speechgen.render_fresh("kartu keluarga saya hilang", voice.voice, voice.rate, voice.pitch)
    assert rate == rate2 and np.array_equal(x, np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0)
