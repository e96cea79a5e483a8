"""Issue #15: a controller killed mid-call never drops the caller, a controller that is down is
skipped, and a controller restarted during a database outage still stops on SIGTERM.

A real ``ivr serve`` subprocess on a PostgreSQL that refuses connections (a proxy that is
down) takes calls from the Asterisk peer following the sample dialplan
(:class:`telephony.peer.HotlineDialplan`):

* killed (SIGKILL) mid-call: the caller hears the recorded apology and lands in the queue;
* restarted, behind a first controller that is down: the second one takes the call and ends it
  on purpose;
* SIGTERM with a web request still open (a client that never finishes its POST body): the
  process drains and exits. Before the fix uvicorn held SIGTERM until every web connection had
  closed, so the drain never began and the process never exited.
"""

from __future__ import annotations

import asyncio
import socket

import pytest

from telephony.peer import (
    AmiServer, AsteriskPeer, Call, Dtmf, HotlineDialplan, QueueMember, Silence, WaitForPrompt, WaitForSilence,
)
from telephony.peer.audio import read_audio_8k
from tests.conftest import pg_skip_reason
from tests.ivr.dbfaults import database_down_at_start
from tests.ivr.serveproc import ServeProcess

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

CALLBACK_KEYS = [WaitForPrompt(), Dtmf("0"), WaitForSilence(1.0), Dtmf("1"), WaitForSilence(1.0), Dtmf("1"),
                 WaitForSilence(1.5), Silence(0.5)]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_killed_controller_apology_and_queue_second_controller_and_sigterm_after_restart(tmp_path):
    reason = pg_skip_reason()
    if reason:
        pytest.skip(reason)
    ami = AmiServer(queues=("hotline",))
    await ami.start()
    ami.queues["hotline"]["PJSIP/agent1"] = QueueMember("PJSIP/agent1", "agent1")
    async with database_down_at_start() as (proxy, dbname):   # refused all along
        serve = ServeProcess(tmp_path / "var", proxy.url(dbname), env={"IVR_SHUTDOWN_GRACE_S": "20"})
        serve.start()
        await asyncio.to_thread(serve.wait_ready)
        try:
            # 1. killed mid-call: the dialplan plays the apology and queues the caller
            peer = AsteriskPeer("127.0.0.1", serve.agi_port, ami=ami, dialplan=HotlineDialplan())
            steps = [WaitForPrompt(), Dtmf("5"), WaitForSilence(1.0), Call(lambda _c: serve.kill()), Silence(1.0)]
            res = await peer.place_call(steps, caller_id="081234567890", realtime=3.0)
            assert res.variables.get("IVR_CALL_ID")                 # the dialog had started
            assert res.route == [f"agi:127.0.0.1:{serve.agi_port}", "failed"], res.route
            assert res.apology_played
            assert read_audio_8k(HotlineDialplan().apology_wav) in res.heard_pcm
            assert res.transferred and res.queue == "hotline" and res.agent == "PJSIP/agent1"

            # 2. restarted (database still down) behind a first controller that is down
            serve.start()
            await asyncio.to_thread(serve.wait_ready)
            down = closed_port()
            peer2 = AsteriskPeer("127.0.0.1", down, dialplan=HotlineDialplan(second=("127.0.0.1", serve.agi_port)))
            res2 = await peer2.place_call(CALLBACK_KEYS, caller_id="081234567891", realtime=3.0)
            assert res2.route[:2] == [f"agi:127.0.0.1:{down}", f"agi:127.0.0.1:{serve.agi_port}"], res2.route
            assert res2.agi_statuses[0] == "FAILURE"
            assert res2.variables.get("IVR_DONE") == "1" and not res2.apology_played

            # 3. SIGTERM while a web client holds a request open: the process still drains and exits
            _r, w = await asyncio.open_connection("127.0.0.1", serve.web_port)
            w.write(b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                    b"Content-Length: 100\r\n\r\nusername=a")
            await w.drain()
            await asyncio.sleep(0.5)
            # the bound is the test's patience, not a speed target: grace 20 s + shutdown
            code = await asyncio.to_thread(serve.terminate, 120)
            assert code == 0, serve.tail()
            w.transport.abort()
        finally:
            serve.kill()
            await ami.close()
