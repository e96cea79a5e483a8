"""The understander's text scores (a calibration feature) come from the phrases of the listen
at hand: a state's own listen, its confirmation question and the offer of its whole answer
listen in the same state with other phrases, and the matcher built for the first of them
served all three."""

from __future__ import annotations

from dialogs import CallStarted, DialogEngine, Heard, Listen, default_script_path, load_script
from ivr.calls import understand as U


def test_each_listen_of_a_state_scores_its_own_phrases():
    script = load_script(default_script_path())
    und = U.Understander(None, script)
    own = script.listen_action("info_akta_kelahiran")
    e = DialogEngine(script)
    e.handle(CallStarted())
    offer = [a for a in e.handle(Heard(text="akta kelahiran biayanya berapa")) if isinstance(a, Listen)][-1]
    assert offer.state == own.state and offer.expect["yes"] != own.expect.get("yes")
    mine, offered = und._phrase_matcher(own), und._phrase_matcher(offer)
    assert len(mine.phrases["yes"]) == len(own.expect["yes"])
    assert len(offered.phrases["yes"]) == len(offer.expect["yes"])
    assert und._phrase_matcher(own) is mine
