"""The simulated Asterisk follows the sample dialplan around the AGI (telephony/peer/dialplan.py):
a finished dialog hangs up, a hand-off queues, a controller that fails mid-call leaves the caller
with the recorded apology in the queue, and a controller that is down sends the call to the
second one. The routes are checked against the dialplan itself (tests/telephony/dialplan.py)."""

from __future__ import annotations

import asyncio
import socket

import pytest

from telephony import AgiSession, FastAgiServer
from telephony.asterisk import config_dir
from telephony.peer import AmiServer, AsteriskPeer, HotlineDialplan, QueueMember, WaitForPrompt
from telephony.peer.audio import read_audio_8k
from telephony.peer.dialplan import APOLOGY_WAV

from .dialplan import Dialplan


def closed_port() -> int:
    """A port nothing listens on (a controller that is down: the connection is refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def serve(handler):
    srv = FastAgiServer(handler, port=0)
    await srv.start()
    return srv


def apology() -> bytes:
    return read_audio_8k(APOLOGY_WAV)


async def test_a_controller_that_dies_mid_call_leaves_the_caller_with_the_apology_in_the_queue(sounds_dir):
    async def handler(s: AgiSession):
        await s.set_variable("IVR_CALL_ID", "c-1")     # the dialog started here
        await s.stream_file("ivr/thanks")
        raise ConnectionResetError("controller killed")  # the AGI socket closes, no IVR_DONE

    srv = await serve(handler)
    port = srv.port
    ami = AmiServer(queues=("hotline",))
    await ami.start()
    try:
        ami.queues["hotline"]["PJSIP/agent1"] = QueueMember("PJSIP/agent1", "agent1")
        peer = AsteriskPeer("127.0.0.1", port, sounds_dir, ami=ami, dialplan=HotlineDialplan())
        res = await peer.place_call([WaitForPrompt()], realtime=10)
    finally:
        await srv.close()
        await ami.close()
    assert res.route == [f"agi:127.0.0.1:{port}", "failed"]
    assert res.apology_played and apology() in res.heard_pcm
    assert res.transferred and res.queue == "hotline"
    assert res.channel_variables["IVR_FAILED"] == "1"
    assert res.agent == "PJSIP/agent1"                 # an agent took the caller


async def test_a_controller_that_is_down_sends_the_call_to_the_second_one(sounds_dir):
    async def second(s: AgiSession):
        await s.set_variable("IVR_CALL_ID", "c-2")
        await s.stream_file("ivr/thanks")
        await s.set_variable("IVR_DONE", "1")      # ends the AGI; the dialplan hangs up

    srv = await serve(second)
    port = srv.port
    down = closed_port()
    try:
        peer = AsteriskPeer("127.0.0.1", down, sounds_dir, dialplan=HotlineDialplan(second=("127.0.0.1", port)))
        res = await peer.place_call([WaitForPrompt()], realtime=10)
    finally:
        await srv.close()
    assert res.route == [f"agi:127.0.0.1:{down}", f"agi:127.0.0.1:{port}", "hangup"]
    assert res.agi_statuses[0] == "FAILURE"
    assert res.variables["IVR_CALL_ID"] == "c-2" and not res.apology_played
    assert not res.transferred


async def test_no_controller_at_all_still_gives_the_apology_and_an_agent(sounds_dir):
    down1, down2 = closed_port(), closed_port()
    peer = AsteriskPeer("127.0.0.1", down1, sounds_dir, dialplan=HotlineDialplan(second=("127.0.0.1", down2)))
    res = await peer.place_call([], realtime=20)
    assert res.route == [f"agi:127.0.0.1:{down1}", f"agi:127.0.0.1:{down2}", "failed"]
    assert res.apology_played and res.transferred and res.queue == "hotline"


async def test_a_caller_who_hangs_up_is_not_queued(sounds_dir):
    in_agi = asyncio.Event()

    async def handler(s: AgiSession):
        await s.set_variable("IVR_CALL_ID", "c-3")
        in_agi.set()
        await asyncio.sleep(5)

    srv = await serve(handler)
    port = srv.port
    try:
        peer = AsteriskPeer("127.0.0.1", port, sounds_dir, dialplan=HotlineDialplan())
        call = peer.start_call([], realtime=10)
        # the caller hangs up while the controller holds the call (not before it got there)
        await asyncio.wait_for(in_agi.wait(), 30)
        call.caller_hangup()
        res = await call.result()
    finally:
        await srv.close()
    assert res.route[-1] == "stop" and not res.apology_played and not res.transferred


@pytest.mark.parametrize("first, second", [
    ("down", "done"), ("down", "down"), ("crash", "done"), ("refuse", "transfer"), ("done", "crash"),
    ("transfer", "down"), ("refuse", "refuse"), ("crash-failure", "done"),
])
def test_the_peers_routes_are_the_sample_dialplans(first, second):
    """Every controller outcome: the peer's route is the one extensions.conf takes."""
    from .test_sample_dialplan import URL1, URL2, Controllers

    dp = Dialplan(config_dir() / "extensions.conf")
    dp.globals["IVR_AGI_URL2"] = URL2
    ctl = Controllers(first=first, second=second)
    run = dp.run("hotline", "s", agi=ctl, rand=min)
    expected = ("failed" if ("Playback", "hotline/maaf-gangguan") in run.steps
                else "queue" if "Queue" in run.apps() else "hangup")

    plan = HotlineDialplan(second=("127.0.0.1", 2))
    chan = plan.before_agi()
    tried_second = False
    for url in (URL1, URL2):
        out = ctl.behaviour[url]
        got = Controllers(first=out)(URL1, chan)
        status = got.pop("AGISTATUS")
        chan.update(got)
        step = plan.route(chan, agi_status=status, tried_second=tried_second)
        if step != "second":
            break
        tried_second = True
    assert ctl.calls == ([URL1, URL2] if tried_second else [URL1])
    assert step == expected
