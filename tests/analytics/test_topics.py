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
