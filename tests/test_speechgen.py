"""The tests' speech generator: a clean rendering is a pure function of its arguments."""

from tests import speechgen

TEXT = "saya mau bayar pajak bumi dan bangunan"
OTHERS = ("kartu keluarga saya hilang", "tolong ada kebakaran di rumah", "nomor tiket saya empat delapan")


def test_the_same_text_rendered_after_different_texts_gives_identical_bytes():
    # libespeak-ng keeps state between syntheses in one process: the renderer must not
    first = speechgen.render_fresh(TEXT, "id+m3", 145, 40)
    for other in OTHERS:
        speechgen.render_fresh(other, "id+m3", 145, 40)
    speechgen.render_fresh(OTHERS[0], "id", 175, 60)
    again = speechgen.render_fresh(TEXT, "id+m3", 145, 40)
    assert again == first
    assert len(first[0]) > 8000 and first[1] > 8000


def test_rendering_does_not_depend_on_this_process_having_synthesised():
    from tts import EspeakSynthesizer

    before = speechgen.render_fresh(TEXT)
    EspeakSynthesizer(voice="id", rate=160, pitch=50).synthesize_sync(OTHERS[1])  # state here
    assert speechgen.render_fresh(TEXT) == before


def test_a_session_renders_each_utterance_once():
    speechgen.render.cache_clear()
    a, rate = speechgen.synthesize(TEXT)
    a[:] = 0  # a caller's array is its own
    b, _ = speechgen.synthesize(TEXT)
    info = speechgen.render.cache_info()
    assert (info.misses, info.hits) == (1, 1)
    assert b.any() and rate == speechgen.render(TEXT)[1]
