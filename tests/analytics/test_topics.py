"""Complaint topics recover the topics the demo descriptions were written from."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select

from ivr.analytics.topics import fit_topics, tokenize
from ivr.storage.models import TicketRow


def test_tokenize_stems_and_drops_stop_words():
    assert tokenize("Rumah kami terendam banjir sejak kemarin") == ["rumah", "rendam", "banjir"]
    assert tokenize("") == []


def test_topics_recover_the_injected_topics(demo_factory):
    d = demo_factory("sqlite")
    t = TicketRow.__table__
    with d.store.database.engine.connect() as conn:
        rows = conn.execute(select(t.c.public_id, t.c.description).where(t.c.kind == "complaint")).all()
    truth = [d.result.truth_topics[r.public_id] for r in rows]
    model = fit_topics([r.description for r in rows])
    assert 10 <= len(model.topics) <= 24
    groups = model.assignments
    majority = {g: Counter(tt for a, tt in zip(groups, truth) if a == g).most_common(1)[0][0] for g in set(groups)}
    recovered = {}
    for name in set(truth):
        mine = [a for a, tt in zip(groups, truth) if tt == name]
        recovered[name] = sum(majority[a] == name for a in mine) / len(mine)
    good = [n for n, v in recovered.items() if v >= 0.7]
    assert len(good) >= 11, recovered
    # readable labels: the flood group says so in the callers' own words
    flood = [tp for tp in model.topics if majority.get(tp.id) == "banjir"]
    assert flood and any("banjir" in tp.label or "terendam" in tp.label for tp in flood), (recovered, [(tp.label, majority.get(tp.id)) for tp in model.topics])
    assert all(" / " in tp.label for tp in model.topics)


def test_masking_placeholders_are_no_topic_terms():
    from ivr.privacy.masking import MASKS, mask_long_numbers, mask_text

    # what the masker writes into a stored description
    masked = mask_text("KTP hilang 3174012345678901, hubungi 081234567890, saya bernama Budi Santoso")
    masked += " " + mask_long_numbers("terputus nol delapan satu dua tiga …")
    assert all(m in masked for m in MASKS), masked
    surface: dict[str, Counter[str]] = {}
    words = tokenize(masked, surface)
    said = {w for c in surface.values() for w in c}
    assert not said & {"nik", "phone", "redacted", "nama"}, said
    assert {"ktp", "hilang", "hubung", "putus"} <= set(words), words
    assert tokenize("[NIK] [phone] [Redacted] [NAMA]") == []
    # the word a caller said stays: only the masker's bracketed placeholders go
    assert "nik" in tokenize("nik anak belum keluar")


def test_topics_never_name_a_placeholder():
    # callers with no water leave a number to call back: the placeholder goes with that topic
    texts = []
    for i in range(60):
        texts.append("jalan berlubang aspal rusak parah" if i % 3 == 0 else
                     "sampah menumpuk bau busuk tidak diangkut" if i % 3 == 1 else
                     "air pdam mati keruh tidak mengalir, hubungi [PHONE] atau [REDACTED], [NAMA]")
    model = fit_topics(texts, k=4)
    terms = {t for tp in model.topics for t in tp.terms}
    assert "air" in terms or "pdam" in terms, terms
    assert not terms & {"phone", "redacted", "nama"}, terms
