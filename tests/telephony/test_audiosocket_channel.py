"""AudioSocketServer + CallChannel: pairing, pacing, stop, hang-up, slow readers, fixtures.

Nothing here measures time: pacing is checked by content and by the order in which the
simulated Asterisk received the frames, and waits are for conditions. The timing figures
(frame gaps, drift, stop delay, keep-alive interval) are measured by
``bench/bench_telephony_media.py --what pacing``.
"""

from __future__ import annotations

import asyncio
import logging
import uuid

from telephony import AgiSession, AudioSocketServer, CallChannel, FastAgiServer
from telephony.audiosocket_codec import (
    NEED_DATA, AudioFrame, AudioSocketDecoder, HangupFrame, encode_frame, encode_uuid,
)
from telephony.peer import AsteriskPeer, Dtmf, Hangup, SayPcm, Silence, WaitForPrompt, WaitForSilence
from tests.waiting import eventually

from .conftest import decode_all, load_jsonl, tone


async def run_call(media_handler, script, *, realtime=1.0, max_frames=250, after=None, keepalive=0.5,
                   silence_suppression=False):
    audio = AudioSocketServer(port=0, max_frames=max_frames, keepalive=keepalive)
    await audio.start()
    out: dict = {}

    async def handler(s: AgiSession):
        ch = await audio.open_channel(s)
        out["channel"] = ch
        await media_handler(ch, out)
        if not ch.closed.is_set():
            await ch.close()
        if after is not None:
            await after(s, out)

    srv = FastAgiServer(handler, port=0)
    await srv.start()
    res = await AsteriskPeer("127.0.0.1", srv.port).place_call(script, realtime=realtime,
                                                               silence_suppression=silence_suppression)
    await srv.close()
    await audio.close()
    return res, out


def arrival_order(res) -> str:
    """The simulated Asterisk's audio frames in the order it handled them: ``i`` for a frame
    from the controller, ``o`` for one from the caller (who sends one every 20 ms)."""
    return "".join("i" if f.direction == "in" else "o" for f in res.frames if f.kind == "audio")


async def test_play_sends_every_frame_in_order_one_at_a_time():
    """Three back-to-back play() calls: every 20 ms frame goes out once, in order, paced.

    Pacing is checked without a clock: the caller's phone sends a frame every 20 ms, so in
    the order Asterisk handled frames, paced prompt frames are interleaved with the caller's
    (about one each), while a burst would arrive as one block with no caller frame inside."""
    prompts = [tone(0.5), tone(0.3, 500), tone(0.2, 600)]

    async def media(ch: CallChannel, out):
        written = out["written"] = []
        send = ch._proto.send
        ch._proto.send = lambda data: (written.append(data), send(data))  # what goes on the wire
        out["ok"] = [await ch.play(p) for p in prompts]
        out["playing_after"] = ch.playing

    res, out = await run_call(media, [], keepalive=None)     # only the prompts on the wire
    assert out["ok"] == [True, True, True] and out["playing_after"] is False
    wire = [f for f in decode_all(AudioSocketDecoder("asterisk"), b"".join(out["written"]), NEED_DATA)
            if isinstance(f, AudioFrame)]
    assert [len(f.pcm) for f in wire] == [320] * 50
    assert b"".join(f.pcm for f in wire) == b"".join(prompts)       # byte content, in order
    assert len(res.heard_times) == 50 and res.dropped_voice_frames == 0
    assert [f.length for f in res.frames if f.direction == "in" and f.kind == "audio"] == [320] * 50
    order = arrival_order(res)
    assert order.count("i") == 50
    played = order[order.index("i"):order.rindex("i") + 1]
    # ~50 caller frames arrived while the 50 prompt frames did (a burst: none) ...
    assert played.count("o") >= 25, order
    # ... and never more than a few prompt frames in a row (a burst: all 50)
    assert max(len(run) for run in played.split("o")) <= 8, order
    assert res.audiosockets[0].exec_result == 0 and res.audiosockets[0].how == "hangup_frame"


async def test_stop_playback_stops_before_the_next_frame():
    async def media(ch: CallChannel, out):
        task = asyncio.ensure_future(ch.play(tone(3.0)))
        await eventually(lambda: ch.frames_sent >= 10, "ten frames of the prompt sent")
        assert ch.playing
        ch.stop_playback()
        out["at_stop"] = ch.frames_sent
        # play() returns without waiting for the next frame's slot: it is done as soon as
        # the loop has run it once more
        await asyncio.sleep(0)
        out["returned_at_once"] = task.done()
        out["result"] = await task
        out["sent"] = ch.frames_sent

    res, out = await run_call(media, [])
    assert out["returned_at_once"] and out["result"] is False
    assert out["sent"] == out["at_stop"]                # not one frame after stop_playback()
    assert 10 <= out["sent"] < 150                      # stopped part-way through the 3 s prompt
    assert len(res.heard_times) == out["sent"]          # and Asterisk got exactly those frames


async def test_caller_audio_and_dtmf_reach_the_controller_and_end_on_hangup():
    speech = tone(1.0, 300)

    async def media(ch: CallChannel, out):
        frames, digits = [], []

        async def read_frames():
            async for f in ch.frames():
                frames.append(f)

        async def read_dtmf():
            async for d in ch.dtmf():
                digits.append(d)

        await asyncio.wait_for(asyncio.gather(read_frames(), read_dtmf()), 10)   # both end on hang-up
        out.update(frames=frames, digits=digits, hung_up=ch.hung_up)

    res, out = await run_call(media, [Silence(0.2), SayPcm(speech), Dtmf("12#"), Hangup()], realtime=4)
    assert out["hung_up"] is True and out["digits"] == ["1", "2", "#"]
    assert speech in b"".join(out["frames"])
    assert {len(f) for f in out["frames"]} == {320}
    assert res.ended_by == "caller_hangup"
    assert res.audiosockets[0].how == "caller_hangup" and res.audiosockets[0].exec_result == -1


async def test_close_ends_media_only_and_the_call_is_handed_off():
    async def media(ch: CallChannel, out):
        await ch.play(tone(0.2))
        await ch.close()
        out["closed"] = ch.closed.is_set() and not ch.hung_up

    async def after(s: AgiSession, out):
        out["status"] = await s.channel_status()
        await s.set_variable("IVR_CALL_ID", "c-1")
        await s.set_variable("IVR_QUEUE", "hotline")
        await s.set_variable("IVR_TRANSFER", "1")

    res, out = await run_call(media, [], after=after)
    assert out["closed"] and out["status"] == 6
    assert res.ended_by == "transfer" and res.queue == "hotline"
    assert res.variables == {"IVR_CALL_ID": "c-1", "IVR_QUEUE": "hotline", "IVR_TRANSFER": "1"}
    assert res.audiosockets[0].exec_result == 0


async def test_slow_reader_drops_oldest_frames_with_a_counter(caplog):
    async def media(ch: CallChannel, out):
        # nobody reads while 40 frames arrive; only the newest 10 are kept
        await eventually(lambda: ch.frames_received >= 40, "40 caller frames received")
        received = ch.frames_received
        got = []
        async for f in ch.frames():
            got.append(f)
            if len(got) == 10:
                break
        out.update(dropped=ch.dropped_frames, got=len(got), received=received)

    with caplog.at_level(logging.WARNING, logger="telephony.audiosocket"):
        res, out = await run_call(media, [], max_frames=10)
    assert out["got"] == 10 and out["dropped"] == out["received"] - 10 >= 30
    assert "consumer too slow" in caplog.text


async def test_turn_taking_with_wait_for_silence():
    async def media(ch: CallChannel, out):
        await ch.play(tone(0.6))
        heard = []
        async for f in ch.frames():
            if max(abs(int.from_bytes(f[i:i + 2], "little", signed=True)) for i in range(0, 320, 2)) > 1000:
                heard.append(asyncio.get_running_loop().time())
            elif heard:
                break
        out["speech_started_after_prompt"] = bool(heard)
        await ch.play(tone(0.2, 800))

    res, out = await run_call(media, [WaitForPrompt(), WaitForSilence(0.3), SayPcm(tone(0.5, 250)),
                                      WaitForSilence(0.3)])
    assert out["speech_started_after_prompt"]
    assert len(res.heard_times) == 30 + 10 and len(res.speech_starts) == len(res.speech_ends) == 1
    # in order: the whole 0.6 s prompt, then the caller's speech, then the 0.2 s reply
    assert res.heard_times[29] < res.speech_starts[0] < res.speech_ends[0] < res.heard_times[30]
    assert len(res.response_latencies()) == 1


async def test_unknown_and_late_uuid_are_refused(caplog):
    audio = AudioSocketServer(port=0, log_interval=0)      # every refusal logged (no throttling)
    await audio.start()
    with caplog.at_level(logging.WARNING, logger="telephony.audiosocket"):
        r, w = await asyncio.open_connection("127.0.0.1", audio.port)
        w.write(encode_uuid(uuid.uuid4()))
        assert await asyncio.wait_for(r.read(), 30) == b""
        w.close()
        uid, fut = audio.expect()
        audio.forget(uid)                               # the call gave up waiting
        r, w = await asyncio.open_connection("127.0.0.1", audio.port)
        w.write(encode_uuid(uid))
        assert await asyncio.wait_for(r.read(), 30) == b""
        w.close()
        r, w = await asyncio.open_connection("127.0.0.1", audio.port)
        w.write(encode_frame(0x10, b"\0" * 320))        # audio before the UUID
        assert await asyncio.wait_for(r.read(), 30) == b""
        w.close()
    await audio.close()
    assert caplog.text.count("unknown or late UUID") == 2 and "first AudioSocket frame" in caplog.text


async def test_fixture_app_session_replayed_into_call_channel():
    """Asterisk's side of audiosocket-app-session (UUID, 20 ms audio, one DTMF, EOF), 10x faster."""
    rows = [r for r in load_jsonl("audiosocket-app-session.jsonl") if r.get("dir") == "ast->us"]
    audio = AudioSocketServer(port=0)
    await audio.start()
    first = rows[1]["data"]
    uid, fut = audio.expect(uuid.UUID(first["payload_hex"]))
    r, w = await asyncio.open_connection("127.0.0.1", audio.port)
    loop = asyncio.get_running_loop()

    async def asterisk():
        t0 = loop.time()
        for row in rows[1:]:
            await asyncio.sleep(max(0.0, t0 + row["t"] / 10 - loop.time()))
            if "data" in row:
                d = row["data"]
                w.write(encode_frame(int(d["kind"], 16), bytes.fromhex(d["payload_hex"]).ljust(d["len"], b"\0")))
            elif row["event"] == "eof":
                w.close()

    feeder = asyncio.ensure_future(asterisk())
    ch: CallChannel = await asyncio.wait_for(fut, 30)
    frames = [f async for f in ch.frames()]
    digits = [d async for d in ch.dtmf()]
    await feeder
    await audio.close()
    expected = [r["data"]["len"] for r in rows if "data" in r and r["data"]["kind"] == "0x10"]
    assert [len(f) for f in frames] == expected and ch.dropped_frames == 0
    assert digits == ["5"] and ch.hung_up and ch.uuid == uid


async def test_unpaced_burst_overflows_the_voice_queue_like_asterisk():
    """Fixture: 250 frames written at once -> Asterisk queues ~96 and drops the rest."""
    async def media(ch: CallChannel, out):
        for _ in range(250):
            ch.send_frame(tone(0.02))
        out["paced"] = await ch.play(tone(1.0, 600))

    res, out = await run_call(media, [])
    assert out["paced"] is True
    assert len(res.heard_times) == 300                # all arrived on the socket ...
    assert res.dropped_voice_frames > 100             # ... but the burst could not all be heard
    assert any("Exceptionally long voice queue length (97 voice / 97 total)" in w for w in res.warnings)
    assert tone(1.0, 600) in res.heard_pcm            # paced audio arrives complete


async def test_idle_channel_sends_silent_keepalive_frames():
    """app_audiosocket.c ends the session after 2000 ms with no traffic either way
    (MAX_WAIT_TIMEOUT_MSEC). A caller whose phone suppresses silence sends nothing, so while
    nothing plays the channel sends silent frames (every ``keepalive`` seconds; the interval
    is measured by the bench)."""
    audio = AudioSocketServer(port=0, keepalive=0.5)
    await audio.start()
    u, fut = audio.expect()
    reader, writer = await asyncio.open_connection("127.0.0.1", audio.port)
    writer.write(encode_uuid(uuid.UUID(u)))
    await writer.drain()
    channel = await asyncio.wait_for(fut, 30)
    frames = []
    for _ in range(3):                                  # nothing is played: only keep-alives come
        hdr = await asyncio.wait_for(reader.readexactly(3), 30)
        frames.append((hdr[0], await reader.readexactly(int.from_bytes(hdr[1:3], "big"))))
    writer.close()
    await audio.close()
    assert frames == [(0x10, bytes(320))] * 3
    assert channel.keepalive_frames >= 3 and channel.frames_sent == 0


async def test_idle_channel_outlasts_asterisks_inactivity_limit():
    """The simulated Asterisk applies the 2 s limit; with a silence-suppressing caller and a
    controller that plays nothing for 3 s, the media survives only through the keep-alives."""
    async def idle(ch: CallChannel, out):
        await asyncio.sleep(3.0)           # the idle stretch under test: longer than Asterisk's 2 s
        out["ended_early"] = ch.closed.is_set()
        out["keepalives"] = ch.keepalive_frames

    res, out = await run_call(idle, [], silence_suppression=True)
    assert not out["ended_early"] and out["keepalives"] >= 1
    assert [(a.how, a.exec_result) for a in res.audiosockets] == [("hangup_frame", 0)], res.warnings
    assert not any("no activity" in w for w in res.warnings)
    # the same idle stretch without keep-alives is cut off, as on a real Asterisk
    res, out = await run_call(idle, [], silence_suppression=True, keepalive=None)
    assert [(a.how, a.exec_result) for a in res.audiosockets] == [("inactivity", -1)]


async def test_nothing_is_sent_after_the_hangup_frame_while_close_waits(caplog):
    """close() writes 0x00 and a half-close, then waits for Asterisk's EOF; a keep-alive due
    in that wait must not be written (it used to raise "Cannot call write() after
    write_eof()" in the timer callback)."""
    audio = AudioSocketServer(port=0, keepalive=0.02)
    await audio.start()
    u, fut = audio.expect()
    reader, writer = await asyncio.open_connection("127.0.0.1", audio.port)
    writer.write(encode_uuid(uuid.UUID(u)))
    channel = await asyncio.wait_for(fut, 30)
    await eventually(lambda: channel.keepalive_frames >= 1, "a keep-alive")
    with caplog.at_level(logging.ERROR):
        # this "Asterisk" never closes its side: close() waits its whole timeout, long after
        # the next keep-alive was due
        await channel.close(timeout=0.3)
        channel.send_frame(tone(0.02))                 # and a late frame from the app is dropped
        received = await asyncio.wait_for(reader.read(), 30)   # up to our close
    writer.close()
    await audio.close()
    frames = decode_all(AudioSocketDecoder("asterisk"), received, NEED_DATA)
    assert frames and isinstance(frames[-1], HangupFrame)
    assert all(isinstance(f, AudioFrame) and f.pcm == bytes(320) for f in frames[:-1])
    assert "Exception in callback" not in caplog.text and "write_eof" not in caplog.text
