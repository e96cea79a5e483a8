"""The simulated Asterisk's own API: AGI-only media, recordings, events, AMI view, speed."""

from __future__ import annotations

import asyncio
import wave

from telephony import AgiSession, AmiClient, FastAgiServer
from telephony.peer import (
    AmiServer, AsteriskPeer, Call, Dtmf, SayPcm, SayWav, Silence, WaitForCommand, WaitForPrompt, WaitForSilence,
)
from telephony.peer.audio import read_audio_8k, write_wav

from tests.waiting import eventually

from .conftest import tone


async def serve(handler):
    srv = FastAgiServer(handler, port=0)
    await srv.start()
    return srv


async def test_agi_only_mode_plays_files_bit_exact_and_records_speech(sounds_dir, tmp_path):
    speech = tone(1.2, 210, 7000)
    wav = tmp_path / "caller.wav"
    write_wav(wav, tone(1.2, 210, 7000), 8000)

    async def handler(s: AgiSession):
        await s.stream_file("ivr/thanks")
        await s.record_file(str(tmp_path / "said"), escape_digits="#", timeout_ms=10000, silence_s=1)
        await s.get_data("ivr/enter_digits", 3000, 2)

    srv = await serve(handler)
    peer = AsteriskPeer("127.0.0.1", srv.port, sounds_dir)
    res = await peer.place_call([WaitForCommand("RECORD FILE"), SayWav(wav), WaitForCommand("GET DATA"),
                                 Dtmf("42")], realtime=4)
    await srv.close()
    thanks = read_audio_8k(sounds_dir / "ivr" / "thanks.wav")
    assert res.heard_pcm.startswith(thanks) or thanks in res.heard_pcm
    with wave.open(str(tmp_path / "said.wav")) as w:
        recorded = w.readframes(w.getnframes())
    assert speech in recorded                          # the caller's speech, frame-aligned, bit-exact
    assert res.commands[-1].reply == "200 result=42"
    assert res.recordings == [str(tmp_path / "said.wav")]


async def test_events_iterator_and_callback(sounds_dir):
    async def handler(s: AgiSession):
        await s.stream_file("ivr/thanks")
        await s.set_variable("IVR_TRANSFER", "1")

    srv = await serve(handler)
    peer = AsteriskPeer("127.0.0.1", srv.port, sounds_dir)
    seen_cb = []
    call = peer.start_call([WaitForPrompt(), WaitForSilence(0.3), SayPcm(tone(0.3))], realtime=5,
                           on_event=seen_cb.append)
    kinds = [ev.kind async for ev in call.events()]
    res = await call.result()
    await srv.close()
    assert kinds[0] == "call_started" and kinds[-1] == "ended"
    for k in ("agi_connected", "command", "reply", "heard_start", "agi_closed"):
        assert k in kinds
    assert [e.kind for e in seen_cb] == kinds
    assert res.ended_by == "transfer"


async def test_call_step_and_manual_hangup(sounds_dir):
    async def handler(s: AgiSession):
        await s.answer()
        await asyncio.wait_for(s.hangup_event.wait(), 30)

    srv = await serve(handler)
    peer = AsteriskPeer("127.0.0.1", srv.port, sounds_dir)

    async def step(call):
        # hang up once ANSWER has been answered: the controller is then idle, waiting
        await eventually(lambda: any(c.command == "ANSWER" for c in call.result_obj.commands), "ANSWER replied")
        call.caller_hangup()

    res = await peer.place_call([WaitForCommand("ANSWER"), Call(step)], realtime=2)
    await srv.close()
    assert res.ended_by == "caller_hangup" and res.hangup_notices


async def test_peer_feeds_the_ami_server(sounds_dir):
    ami = AmiServer(port=0, login_failure_delay=0.05)
    await ami.start()
    client = AmiClient("127.0.0.1", ami.port, "ivr", "ivrsecret", keepalive=None)
    await client.connect()
    events = []
    client.on_pattern("*", events.append)
    channels = []

    async def handler(s: AgiSession):
        channels.extend(await client.list_action("CoreShowChannels"))
        await s.stream_file("ivr/missing")
        await s.set_variable("IVR_QUEUE", "hotline")
        await s.set_variable("IVR_TRANSFER", "1")
        v = await client.action("Getvar", Channel=s.env["channel"], Variable="IVR_QUEUE")
        assert v["Value"] == "hotline"

    await client.action("QueueAdd", Queue="hotline", Interface="PJSIP/agent1", MemberName="Agen Satu")
    srv = await serve(handler)
    peer = AsteriskPeer("127.0.0.1", srv.port, sounds_dir, ami=ami)
    res = await peer.place_call([], realtime=10, variables={"IVR_CALL_ID": "c-42"})
    await client.action("Ping")
    await client.close()
    await srv.close()
    await ami.close()
    assert len(channels) == 1 and channels[0]["Uniqueid"] == res.call_id
    names = [e.name for e in events]
    assert names.count("AGIExecStart") == 3 and names.count("AGIExecEnd") == 3
    ends = [(e["ResultCode"], e["Result"]) for e in events if e.name == "AGIExecEnd"]
    assert ends == [("-1", "Failure"), ("200", "Success"), ("200", "Success")]
    assert "VarSet" in names
    queue_part = [n for n in names if n.startswith(("Queue", "Agent"))
                  and n not in ("QueueMemberAdded", "QueueMemberStatus")] + [names[-1]]
    assert queue_part == ["QueueCallerJoin", "AgentCalled", "QueueCallerLeave", "AgentConnect", "AgentComplete",
                          "Hangup"]
    # app_queue.c publishes the member's device state as it rings, talks and is free again
    statuses = [(e["Status"], e["InCall"], e["CallsTaken"]) for e in events if e.name == "QueueMemberStatus"]
    assert statuses == [("6", "0", "0"), ("2", "1", "0"), ("1", "0", "1")]
    connect = next(e for e in events if e.name == "AgentConnect")
    assert connect["Queue"] == "hotline" and connect["Interface"] == "PJSIP/agent1"
    assert "IVR_CALL_ID=c-42" in connect.get_all("ChanVariable")     # manager.conf channelvars
    assert res.agent == "PJSIP/agent1"


async def test_refused_agi_connection_is_a_failure_result(tmp_path):
    srv = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    srv.close()
    await srv.wait_closed()
    res = await AsteriskPeer("127.0.0.1", port).place_call([Silence(0.1)], realtime=5)
    assert res.ended_by == "agi_failed" and res.agi_status == "FAILURE" and "failed" in res.error


async def test_speedup_scales_peer_timeouts(sounds_dir):
    """A sped-up call runs the peer's timeouts on the caller's clock: a 2 s WAIT FOR DIGIT
    times out before the digit the caller sends after 20 s of silence, which then waits for
    the next command. Unscaled, the 2 s would outlast the caller's 20 s at 20x (1 s) and the
    first wait would get the digit; no clock is read."""
    got = []

    async def handler(s: AgiSession):
        got.append((await s.wait_for_digit(2000)).result)          # 2 s of peer time
        got.append((await s.wait_for_digit(60000)).result)

    srv = await serve(handler)
    script = [WaitForCommand("WAIT FOR DIGIT"), Silence(20.0), Dtmf("5")]
    res = await AsteriskPeer("127.0.0.1", srv.port, sounds_dir).place_call(script, realtime=20)
    await srv.close()
    assert got == [0, ord("5")] and res.ended_by == "agi_ended"
