"""Any sequence of events, in any order, never makes the engine raise."""

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dialogs import (
    CallStarted,
    DialogEngine,
    EndCall,
    Hangup,
    Heard,
    Listen,
    NoInput,
    PlaybackDone,
    Pressed,
    TicketCreated,
    TicketStatus,
    Transfer,
    TransferFailed,
)

PHRASES = ["ktp", "ya", "tidak", "petugas", "ulangi", "darurat", "selesai", "lewati", "pengaduan",
           "tiga dua tujuh tiga nol satu empat lima nol delapan sembilan lima nol nol nol satu",
           "kosong delapan satu dua tiga empat lima enam tujuh delapan", "17 agustus 2026",
           "B 1234 XYZ", "status pengaduan", "", "   ", "{ticket_id}", "%s%n", "☃" * 3]

texts = st.one_of(st.sampled_from(PHRASES), st.text(max_size=40))
events = st.one_of(
    st.builds(CallStarted, caller_number=st.one_of(st.none(), st.text(max_size=15), st.just("081234567890")),
              call_id=st.one_of(st.none(), st.text(max_size=8)),
              today=st.one_of(st.none(), st.just("2026-11-28"), st.text(max_size=12)),
              variables=st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=2)),
    st.builds(Heard, text=texts, confidence=st.floats(allow_nan=True, allow_infinity=True),
              intent=st.one_of(st.none(), st.sampled_from(["ktp", "yes", "no", "petugas", "bogus", "infrastruktur"])),
              slots=st.one_of(st.none(), st.dictionaries(st.sampled_from(["reporter_nik", "callback_number", "x"]),
                                                          st.text(max_size=20), max_size=2))),
    st.builds(Pressed, digits=st.one_of(st.text(alphabet="0123456789*#", max_size=17), st.text(max_size=5))),
    st.just(NoInput()),
    st.just(PlaybackDone()),
    st.builds(TransferFailed, reason=st.sampled_from(["no_agents", "closed_hours", "error", "weird"])),
    st.builds(TicketCreated, ticket_id=st.text(max_size=10)),
    st.builds(TicketStatus, ticket_id=st.text(max_size=6),
              status=st.one_of(st.none(), st.sampled_from(["open", "in_progress", "resolved", "x"])),
              updated=st.one_of(st.none(), st.just("2026-11-20"), st.text(max_size=10))),
    st.just(Hangup()),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(events, max_size=30), st.booleans())
def test_engine_never_raises(script, evs, start_first):
    engine = DialogEngine(script, strict=True)  # strict: a bug would surface here
    if start_first:
        engine.start()
    for ev in evs:
        actions = engine.handle(ev)
        assert isinstance(actions, list)
        # a Listen, a Transfer or an EndCall is always the last action of a batch
        for a in actions[:-1]:
            assert not isinstance(a, (Listen, Transfer, EndCall))
        snap = engine.snapshot()
        json.dumps(snap)
        if engine.phase in ("listening", "confirming"):
            assert engine.state in script.states
    restored = DialogEngine.restore(script, json.loads(json.dumps(engine.snapshot())), strict=True)
    assert restored.snapshot() == engine.snapshot()
