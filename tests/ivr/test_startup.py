"""`ivr serve`'s start-up log: its phases in a record of their own, and no set-up chatter of
the libraries (Alembic's, ONNX Runtime's: tests/asr/test_startup_caches.py) among them."""

from __future__ import annotations

import asyncio
import gc
import logging

from asr.whisper_model import default_cache_dir
from ivr.serve import serve
from ivr.config.settings import load_settings


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def capture_root(level: int = logging.INFO) -> tuple[Records, int]:
    root = logging.getLogger()
    handler = Records()
    old = root.level
    root.addHandler(handler)
    root.setLevel(level)
    return handler, old


def release_root(handler: Records, level: int) -> None:
    root = logging.getLogger()
    root.removeHandler(handler)
    root.setLevel(level)


def test_migration_logs_what_it_applies_without_alembic_chatter(tmp_path):
    from ivr.storage import Store

    handler, level = capture_root()
    try:
        store = Store(f"sqlite:///{tmp_path / 'ivr.sqlite3'}")
        store.migrate()
    finally:
        release_root(handler, level)
    messages = [r.getMessage() for r in handler.records if r.name.startswith("alembic")]
    assert any(m.startswith("Running upgrade") for m in messages)
    assert not [m for m in messages if m.startswith(("Context impl", "Will assume", "setup plugin"))]
    assert logging.getLogger("alembic.runtime.plugins").level == logging.NOTSET  # restored
    assert logging.getLogger("alembic.runtime.migration").filters == []


async def test_serve_logs_its_start_up_phases(tmp_path):
    settings = load_settings(data_dir=tmp_path / "var", agi_port=0, audiosocket_port=0, web_port=0,
                             whisper_cache_dir=default_cache_dir(), log_level="INFO")
    stop = asyncio.Event()
    ready = asyncio.Event()
    handler, level = capture_root()
    gc.unfreeze()
    try:
        server = asyncio.create_task(serve(settings, ready=lambda _info: ready.set(), stop=stop, warm_up=False))
        await asyncio.wait({server, asyncio.ensure_future(ready.wait())}, timeout=120,
                           return_when=asyncio.FIRST_COMPLETED)
        assert ready.is_set(), server.exception() if server.done() else "serve did not start"
        stop.set()
        await asyncio.wait_for(server, 60)
    finally:
        gc.unfreeze()
        release_root(handler, level)
    msgs = [r.getMessage() for r in handler.records]
    assert msgs.index("start-up phases") < msgs.index("hotline ready")
    phases = next(r for r in handler.records if r.getMessage() == "start-up phases").phases
    for name in ("script_s", "synthesizer_s", "store_s", "recognizer_s", "build_s", "prerender_s", "telephony_s",
                 "web_s"):
        assert isinstance(phases[name], float) and phases[name] >= 0, name
    assert "warm_up_s" not in phases  # not run here
    before_ready = handler.records[: msgs.index("hotline ready")]
    assert not [r for r in before_ready if r.name == "root" or r.name.startswith("onnxruntime")]
