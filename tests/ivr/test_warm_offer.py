"""The recognizer's caches are built at start-up for every listen the dialog can emit, the
offer of a state's whole answer included: its labels with yes/no are an expectation of their
own (menu-sized), whose null scores otherwise took seconds at the first offer's answer."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from dialogs import CallStarted, DialogEngine, Heard, Listen, default_script_path, load_script
from ivr.calls.runtime import Runtime
from ivr.calls.understand import expectation_for


@pytest.mark.parametrize("request_", ["akta kelahiran biayanya berapa", "pajak motor bayarnya di mana"])
def test_the_offer_listen_is_warmed(request_: str) -> None:
    script = load_script(default_script_path())
    e = DialogEngine(script, strict=True)
    e.handle(CallStarted())
    out = e.handle(Heard(text=request_))
    offer = out[-1]
    assert isinstance(offer, Listen) and "yes" in offer.expect and e.snapshot()["offered"] is True
    listens = Runtime.listen_actions(SimpleNamespace(script=script))  # type: ignore[arg-type]
    warmed = {expectation_for(lst).key() for lst in listens}
    assert expectation_for(offer).key() in warmed
