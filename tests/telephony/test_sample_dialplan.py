"""The sample dialplan, run step by step (tests/telephony/dialplan.py), keeps the contract with
the controller and the desk: a finished dialog hangs up, a hand-off queues, and a controller
that fails never drops the caller (second controller, else the apology and an agent);
callbacks ring the agent first and dial only national numbers through IVR_TRUNK.
The same paths were run on a real Asterisk 22 (docs/asterisk.md, "Verified with")."""

from __future__ import annotations

import pytest

from telephony.asterisk import config_dir

from .conftest import load_jsonl
from .dialplan import Dialplan

URL1 = "agi://127.0.0.1:4573/hotline"
URL2 = "agi://127.0.0.1:4574/hotline"
APOLOGY = ("Playback", "hotline/maaf-gangguan")


@pytest.fixture
def dp() -> Dialplan:
    return Dialplan(config_dir() / "extensions.conf")


class Controllers:
    """Stand-ins for `ivr serve` processes, by FastAGI URL: what each does with a call."""

    def __init__(self, **behaviour: str) -> None:
        self.behaviour = {URL1: behaviour.get("first", "down"), URL2: behaviour.get("second", "down")}
        self.calls: list[str] = []

    def __call__(self, url: str, chan: dict[str, str]) -> dict[str, str]:
        self.calls.append(url)
        what = self.behaviour[url]
        if what == "down":            # connection refused: Asterisk sets FAILURE, nothing else
            return {"AGISTATUS": "FAILURE"}
        if what == "refuse":          # accepted and closed before the dialog started
            return {"AGISTATUS": "SUCCESS"}
        started = {"IVR_CALL_ID": f"call-{len(self.calls)}", "AGISTATUS": "SUCCESS"}
        if what == "done":
            return {**started, "IVR_DONE": "1"}
        if what == "transfer":
            return {**started, "IVR_DONE": "1", "IVR_TRANSFER": "1", "IVR_QUEUE": "pajak"}
        if what == "crash":           # killed mid-call: the AGI socket closes, AGISTATUS=SUCCESS
            return started
        if what == "crash-failure":   # a failed command earlier in the session, then killed
            return {**started, "AGISTATUS": "FAILURE"}
        if what == "caller-hangup":
            return {**started, "AGISTATUS": "HANGUP"}
        raise AssertionError(what)


def call(dp: Dialplan, ctl: Controllers, *, second: bool = False, pick_second: bool = False, exten: str = "s"):
    if second:
        dp.globals["IVR_AGI_URL2"] = URL2
    return dp.run("hotline", exten, agi=ctl, rand=max if pick_second else min)


def test_globals_as_loaded(dp):
    assert dp.globals["IVR_AGI_URL"] == URL1
    assert dp.globals["IVR_AGI_URL2"] == ""                 # one controller unless configured
    assert dp.globals["IVR_DEFAULT_QUEUE"] == "hotline"
    # [globals] is expanded at load: the number placeholder must survive it
    assert dp.globals["IVR_TRUNK"] == "PJSIP/{EXTEN}@trunk"
    assert dp.globals["IVR_AGENT_DIAL"] == "PJSIP/{EXTEN}"


def test_a_finished_dialog_hangs_up(dp):
    run = call(dp, Controllers(first="done"))
    assert run.apps()[-1] == "Hangup" and "Queue" not in run.apps() and APOLOGY not in run.steps
    assert run.apps().index("Answer") < run.apps().index("AGI")


def test_a_hand_off_queues_to_the_named_queue(dp):
    run = call(dp, Controllers(first="transfer"))
    assert run.args_of("Queue") == ["pajak,,,,300"]
    assert APOLOGY not in run.steps
    assert run.variables["CDR(userfield)"] == "call-1"


@pytest.mark.parametrize("failure", ["crash", "crash-failure"])
def test_a_controller_dying_mid_call_gives_the_apology_and_an_agent(dp, failure):
    """Issue 15 item 9: killed mid-call, the AGI returns SUCCESS with IVR_TRANSFER=0: the old
    dialplan hung up. Now the caller hears the apology (112/119) and waits for an agent; the
    dialog had started (IVR_CALL_ID set), so it is not restarted on another controller."""
    ctl = Controllers(first=failure, second="done")
    run = call(dp, ctl, second=True)
    assert ctl.calls == [URL1]
    assert APOLOGY in run.steps
    assert run.args_of("Queue") == ["hotline,,,,300"]
    assert run.steps.index(APOLOGY) < run.apps().index("Queue")
    assert "Hangup" not in run.apps()[:run.apps().index("Queue")]
    assert run.variables["IVR_FAILED"] == "1"


@pytest.mark.parametrize("first", ["down", "refuse"])
def test_a_controller_that_does_not_take_the_call_hands_it_to_the_second(dp, first):
    ctl = Controllers(first=first, second="done")
    run = call(dp, ctl, second=True)
    assert ctl.calls == [URL1, URL2]
    assert run.apps()[-1] == "Hangup" and APOLOGY not in run.steps and "Queue" not in run.apps()


def test_calls_are_spread_over_both_controllers(dp):
    ctl = Controllers(first="down", second="done")
    run = call(dp, ctl, second=True, pick_second=True)
    assert ctl.calls == [URL2]
    assert run.apps()[-1] == "Hangup"
    ctl = Controllers(first="done", second="down")
    call(dp, ctl, second=True, pick_second=True)
    assert ctl.calls == [URL2, URL1]                         # the other one when the pick is down


@pytest.mark.parametrize("second", [False, True])
def test_no_controller_at_all_gives_the_apology_and_an_agent(dp, second):
    ctl = Controllers(first="down", second="down")
    run = call(dp, ctl, second=second)
    assert ctl.calls == ([URL1, URL2] if second else [URL1])
    assert APOLOGY in run.steps and run.args_of("Queue") == ["hotline,,,,300"]


def test_a_caller_who_hangs_up_during_the_dialog_ends_there(dp):
    ctl = Controllers(first="caller-hangup", second="done")
    run = call(dp, ctl, second=True)
    assert ctl.calls == [URL1] and run.apps()[-1] == "AGI"


@pytest.mark.parametrize("exten", ["081234567890", "+6281234567890"])
def test_every_dialled_number_enters_the_hotline(dp, exten):
    run = call(dp, Controllers(first="done"), exten=exten)
    assert "AGI" in run.apps()


# ---- callbacks -----------------------------------------------------------------------------

def test_the_originate_channel_rings_the_agents_phone(dp):
    run = dp.run("hotline-agent-ring", "agent1", variables={"IVR_CALLBACK_ID": "7"})
    assert run.args_of("Dial") == ["PJSIP/agent1,30"]


@pytest.mark.parametrize("exten", ["agent1&PJSIP/other", "a/b", "x,y"])
def test_an_agent_extension_that_could_inject_a_dial_string_is_refused(dp, exten):
    run = dp.run("hotline-agent-ring", exten)
    assert "Dial" not in run.apps() and run.apps()[-1] == "Hangup"


def test_the_test_agent_answers_without_a_phone(dp):
    run = dp.run("hotline-agent-ring", "hotline-test-agent")
    assert "Answer" in run.apps() and "Dial" not in run.apps()


def test_the_callback_dials_the_citizen_through_the_trunk_and_reports(dp):
    dialled = []

    def dial(args, chan):
        dialled.append(args)
        return "BUSY"

    run = dp.run("hotline-callback", "081234567890", variables={"IVR_CALLBACK_ID": "42"}, dial=dial)
    assert dialled == ["PJSIP/081234567890@trunk,45"]
    assert run.steps[-1] == ("UserEvent", "HotlineCallback,IVR_CALLBACK_ID: 42,DialStatus: BUSY,Reason: ")
    assert run.variables["CDR(userfield)"] == "callback:42"


def test_the_trunk_is_one_global(dp):
    dp.globals["IVR_TRUNK"] = "Local/{EXTEN}@hotline-test-citizen"
    run = dp.run("hotline-callback", "0215551234", dial=lambda a, c: "ANSWER")
    assert run.args_of("Dial") == ["Local/0215551234@hotline-test-citizen,45"]


@pytest.mark.parametrize("number", ["112", "119", "+6281234567890", "6281234567890", "0812", "08123456789012345678"])
def test_numbers_that_are_not_national_are_refused(dp, number):
    run = dp.run("hotline-callback", number, variables={"IVR_CALLBACK_ID": "9"}, dial=lambda a, c: "ANSWER")
    assert "Dial" not in run.apps()
    assert run.steps[-1] == ("UserEvent", "HotlineCallback,IVR_CALLBACK_ID: 9,DialStatus: ,Reason: invalid-number")


def test_the_test_citizen_numbers(dp):
    assert dp.run("hotline-test-citizen", "0800000001").apps() == ["Busy"]
    assert "Answer" in dp.run("hotline-test-citizen", "081234567890").apps()


# ---- the helper against the real Asterisk ---------------------------------------------------

def _recorded_calls() -> dict[str, list[tuple[str, str, str]]]:
    """Per call (the hotline half's Uniqueid): ("exten", app, data) and ("var", name, value)
    in the order Asterisk 22 reported them (fixtures/asterisk-22/ami-dialplan-failure-path)."""
    calls: dict[str, list[tuple[str, str, str]]] = {}
    for row in load_jsonl("ami-dialplan-failure-path.jsonl"):
        data = row.get("data", "")
        if row.get("dir") != "ast->us" or not data.startswith("Event: "):
            continue
        h = dict(line.split(": ", 1) for line in data.split("\r\n") if ": " in line)
        uid = h.get("Uniqueid", "")
        if not uid.endswith("-hotline"):
            continue
        if h["Event"] == "Newexten" and h["Context"] == "hotline":
            calls.setdefault(uid, []).append(("exten", h["Application"], h["AppData"]))
        elif h["Event"] == "VarSet" and (h["Variable"].startswith("IVR_") or h["Variable"] == "AGISTATUS"):
            calls.setdefault(uid, []).append(("var", h["Variable"], h["Value"]))
    return calls


def test_the_helper_runs_the_dialplan_as_asterisk_22_did(dp):
    """Five calls on Asterisk 22.10.1 with the sample extensions.conf and stand-in controllers
    (finished; killed mid-call; first refusing with a second one, picked either way; both
    unreachable): every application Asterisk ran, with its substituted arguments, is what the
    helper runs when the controllers set what they set there. This keeps the step-by-step
    tests above honest."""
    calls = _recorded_calls()
    assert sorted(calls) == [f"call{n}-hotline" for n in range(1, 6)]
    seen_apps: set[str] = set()
    for uid, events in calls.items():
        recorded = [(app, data) for kind, app, data in events if kind == "exten"]
        url2 = next(d for a, d in recorded if a == "Set" and d.startswith("IVR_AGI_B=")).split("=", 1)[1]
        swapped = ("GotoIf", "0?agi") in recorded
        agi_results = []
        for i, (kind, name, _) in enumerate(events):
            if kind == "exten" and name == "AGI":
                after = []
                for k, var, value in events[i + 1:]:
                    if k == "exten":
                        break
                    after.append((var, value))
                agi_results.append(dict(after))
        results = iter(agi_results)
        dp.globals["IVR_AGI_URL2"] = url2
        run = dp.run("hotline", "s", variables={"UNIQUEID": uid}, agi=lambda url, chan: next(results),
                     rand=max if swapped else min)
        assert run.steps[:len(recorded)] == recorded, uid
        assert recorded[-1][0] in ("Hangup", "Queue"), uid
        seen_apps |= {a for a, _ in recorded}
    assert {"AGI", "Playback", "Queue", "Hangup", "Log"} <= seen_apps


@pytest.mark.parametrize("code, app, args", [
    ("*45", "AddQueueMember", "hotline,PJSIP/agent2,,,agent2"),
    ("*46", "RemoveQueueMember", "hotline,PJSIP/agent2"),
    ("*47", "PauseQueueMember", ",PJSIP/agent2,,telepon"),
    ("*48", "UnpauseQueueMember", ",PJSIP/agent2"),
])
def test_agents_log_in_and_pause_from_the_phone_as_the_desk_does(dp, code, app, args):
    """Same interface (PJSIP/<endpoint>) as the desk's QueueAdd/QueuePause, so the desk follows."""
    run = dp.run("agents", code, variables={"CHANNEL(endpoint)": "agent2"})
    assert run.args_of(app) == [args]
    assert run.apps()[-1] == "Hangup"
