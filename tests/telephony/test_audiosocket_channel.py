"""AudioSocketServer + CallChannel: pairing, pacing, stop, hang-up, slow readers, fixtures."""

from __future__ import annotations

import asyncio
import logging
import statistics
import uuid

from telephony import AgiSession, AudioSocketServer, CallChannel, FastAgiServer
from telephony.audiosocket_codec import encode_frame, encode_uuid
from telephony.peer import AsteriskPeer, Dtmf, Hangup, SayPcm, Silence, WaitForPrompt, WaitForSilence

from .conftest import load_jsonl, tone


async def run_call(media_handler, script, *, realtime=1.0, max_frames=250, after=None):
    audio = AudioSocketServer(port=0, max_frames=max_frames)
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
    res = await AsteriskPeer("127.0.0.1", srv.port).place_call(script, realtime=realtime)
    await srv.close()
    await audio.close()
    return res, out


async def test_play_is_paced_on_an_absolute_schedule():
    async def media(ch: CallChannel, out):
        loop = asyncio.get_running_loop()
        sent = out["sent_at"] = []
        send = ch._proto.send
        ch._proto.send = lambda data: (sent.append(loop.time()), send(data))  # time each frame as written
        t = loop.time()
        out["ok"] = [await ch.play(tone(0.5)), await ch.play(tone(0.3, 500)), await ch.play(tone(0.2, 600))]
        out["elapsed"] = loop.time() - t
        out["playing_after"] = ch.playing

    res, out = await run_call(media, [])
    assert out["ok"] == [True, True, True] and out["playing_after"] is False
    assert len(res.heard_times) == 50
    sent = out["sent_at"]
    assert len(sent) == 50
    gaps = [b - a for a, b in zip(sent, sent[1:])]
    assert 0.017 < statistics.median(gaps) < 0.023
    # never ahead of real time: frame i is written no earlier than start + i x 20 ms ...
    assert all(t >= sent[0] + i * 0.02 - 0.0005 for i, t in enumerate(sent))
    # ... and no drift across the three calls (absolute schedule; late timers catch up)
    assert sent[-1] - sent[0] < 49 * 0.02 + 0.06
    assert 0.99 < out["elapsed"] < 1.3
    assert res.audiosockets[0].exec_result == 0 and res.audiosockets[0].how == "hangup_frame"


async def test_stop_playback_within_one_frame():
    async def media(ch: CallChannel, out):
        loop = asyncio.get_running_loop()
        task = asyncio.ensure_future(ch.play(tone(3.0)))
        await asyncio.sleep(0.5)
        assert ch.playing
        ch.stop_playback()
        out["at_stop"] = ch.frames_sent
        out["stopped_at"] = loop.time()
        out["result"] = await task
        out["return_delay"] = loop.time() - out["stopped_at"]
        await asyncio.sleep(0.3)
        out["sent"] = ch.frames_sent

    res, out = await run_call(media, [])
    assert out["result"] is False and out["return_delay"] < 0.05
    assert out["sent"] == out["at_stop"]                # not one frame after stop_playback()
    assert 18 <= out["sent"] <= 30                      # ~25 frames in 0.5 s
    assert len(res.heard_times) == out["sent"]


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
        await asyncio.sleep(1.0)                       # ~50 frames arrive, only 10 are kept
        got = []
        async for f in ch.frames():
            got.append(f)
            if len(got) == 10:
                break
        out.update(dropped=ch.dropped_frames, got=len(got))

    with caplog.at_level(logging.WARNING, logger="telephony.audiosocket"):
        res, out = await run_call(media, [], max_frames=10)
    assert out["got"] == 10 and out["dropped"] >= 30
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
    assert len(res.speech_ends) == 1 and res.speech_starts[0] > 0.6 + 0.3 - 0.05
    lat = res.response_latencies()
    assert len(lat) == 1 and 0 < lat[0] < 1.0


async def test_unknown_and_late_uuid_are_refused(caplog):
    audio = AudioSocketServer(port=0)
    await audio.start()
    with caplog.at_level(logging.WARNING, logger="telephony.audiosocket"):
        r, w = await asyncio.open_connection("127.0.0.1", audio.port)
        w.write(encode_uuid(uuid.uuid4()))
        assert await asyncio.wait_for(r.read(), 5) == b""
        w.close()
        uid, fut = audio.expect()
        audio.forget(uid)                               # the call gave up waiting
        r, w = await asyncio.open_connection("127.0.0.1", audio.port)
        w.write(encode_uuid(uid))
        assert await asyncio.wait_for(r.read(), 5) == b""
        w.close()
        r, w = await asyncio.open_connection("127.0.0.1", audio.port)
        w.write(encode_frame(0x10, b"\0" * 320))        # audio before the UUID
        assert await asyncio.wait_for(r.read(), 5) == b""
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
    ch: CallChannel = await asyncio.wait_for(fut, 5)
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
        await asyncio.sleep(0.1)
        out["paced"] = await ch.play(tone(1.0, 600))

    res, out = await run_call(media, [])
    assert res.dropped_voice_frames > 100
    assert any("Exceptionally long voice queue length (97 voice / 97 total)" in w for w in res.warnings)
    heard_frames = len(res.heard_times)
    assert heard_frames == 300                       # all arrived on the socket ...
    assert res.heard_seconds < 250 * 0.02 + 1.5       # ... but the burst could not all be heard
    assert tone(1.0, 600) in res.heard_pcm            # paced audio arrives complete


async def test_idle_channel_keeps_asterisk_from_timing_out():
    """app_audiosocket.c ends the session after 2000 ms with no traffic either way
    (MAX_WAIT_TIMEOUT_MSEC). A caller whose phone suppresses silence sends nothing, so while
    nothing plays the channel must send silent frames well inside that limit."""
    audio = AudioSocketServer(port=0, keepalive=0.5)
    await audio.start()
    u, fut = audio.expect()
    reader, writer = await asyncio.open_connection("127.0.0.1", audio.port)
    writer.write(encode_uuid(uuid.UUID(u)))
    await writer.drain()
    channel = await asyncio.wait_for(fut, 2)
    loop = asyncio.get_running_loop()
    arrivals = []
    start = loop.time()
    buf = b""
    while loop.time() - start < 2.2:
        try:
            buf += await asyncio.wait_for(reader.read(4096), 2.3 - (loop.time() - start))
        except asyncio.TimeoutError:
            break
        while len(buf) >= 3 and len(buf) >= 3 + int.from_bytes(buf[1:3], "big"):
            kind, n = buf[0], int.from_bytes(buf[1:3], "big")
            arrivals.append((loop.time() - start, kind, buf[3:3 + n]))
            buf = buf[3 + n:]
    writer.close()
    await audio.close()
    assert arrivals, "an idle channel sent nothing: Asterisk would end AudioSocket after 2 s"
    gaps = [b[0] - a[0] for a, b in zip([(0.0, 0, b"")] + arrivals, arrivals)]
    assert max(gaps) < 1.0
    assert all(kind == 0x10 and payload == bytes(320) for _, kind, payload in arrivals)
    assert channel.keepalive_frames == len(arrivals) >= 3
