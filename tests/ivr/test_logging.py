"""Structured logs: one JSON object per line, call id from context, personal data masked."""

from __future__ import annotations

import asyncio
import io
import json
import logging

import pytest

from ivr.config.logging import bind_call, call_id_var, configure_logging
from ivr.privacy.masking import mask_text, mask_value


@pytest.fixture
def logbuf():
    buf = io.StringIO()
    handler = configure_logging("DEBUG", "json", buf)
    yield buf
    logging.getLogger().removeHandler(handler)


def lines(buf):
    return [json.loads(line) for line in buf.getvalue().splitlines()]


@pytest.mark.parametrize(
    "raw",
    [
        "3174012345670001",
        "3174 0123 4567 0001",
        "3174-0123-4567-0001",
    ],
)
def test_nik_masked(raw):
    out = mask_text(f"NIK saya {raw}, terima kasih")
    assert out == "NIK saya [NIK], terima kasih"


@pytest.mark.parametrize(
    "raw",
    ["081234567890", "0812-3456-7890", "0812 3456 789", "+6281234567890", "+62 812 3456 7890",
     "6281234567890", "021 5551234", "(0274) 512345", "+62 21 5551234"],
)
def test_phone_masked(raw):
    out = mask_text(f"hubungi {raw} ya")
    assert out == "hubungi [PHONE] ya", out
    assert not any(c.isdigit() for c in out)


@pytest.mark.parametrize(
    "text",
    ["tiket 2611000427", "tiket 2611-00042-7", "tiket 2612-90001-5", "durasi 1234 ms", "2026-11-28 03:00:00", "port 4573", "uniqueid 1732700000.123",
     "skor 0.934", "RT 005 RW 012",
     # a weekly report's period and files (dates, not a NIK: the scheduler's log said [NIK])
     "period 2026-11-30-2026-12-06", "laporan-mingguan-2026-11-30-2026-12-06.pdf", "2026-11-30 2026-12-06"],
)
def test_ordinary_numbers_kept(text):
    assert mask_text(text) == text


def test_sensitive_fields_replaced_whole():
    v = mask_value({"name": "Budi Santoso", "city": "Bandung", "calls": [{"callerid": "0812"}],
                    "note": "nomor 081234567890"})
    assert v == {"name": "[REDACTED]", "city": "Bandung", "calls": [{"callerid": "[REDACTED]"}],
                 "note": "nomor [PHONE]"}
    assert mask_value(3174012345670001) == "[NIK]"
    assert mask_value(42) == 42


def test_json_lines_with_call_id_and_masking(logbuf):
    log = logging.getLogger("ivr.some.module")
    log.info("no call yet")
    with bind_call("call-123"):
        log.info("caller %s said NIK %s", "081234567890", "3174012345670001",
                 extra={"reporter_name": "Siti Aminah", "intent": "ktp", "ms": 420})
        log.warning("cuma teks")
    out = lines(logbuf)
    assert [o["call_id"] for o in out] == [None, "call-123", "call-123"]
    rec = out[1]
    assert rec["msg"] == "caller [PHONE] said NIK [NIK]"
    assert rec["reporter_name"] == "[REDACTED]" and rec["intent"] == "ktp" and rec["ms"] == 420
    assert rec["level"] == "INFO" and rec["logger"] == "ivr.some.module" and rec["ts"].endswith("Z")
    text = logbuf.getvalue()
    for secret in ("081234567890", "3174012345670001", "Siti", "Aminah"):
        assert secret not in text


def test_exception_text_masked(logbuf):
    log = logging.getLogger("ivr.x")
    try:
        raise ValueError("NIK 3174012345670001 tidak ditemukan")
    except ValueError:
        log.exception("lookup failed for %s", "+6281234567890")
    (rec,) = lines(logbuf)
    assert "ValueError: NIK [NIK] tidak ditemukan" in rec["exc"]
    assert rec["msg"] == "lookup failed for [PHONE]"
    assert "3174012345670001" not in logbuf.getvalue()


@pytest.mark.parametrize("raw", ["1971-05-12-3456-0001", "2026-11-30-3174012345670001"])
def test_a_nik_beside_a_date_is_still_masked(raw):
    # only a run of dates and nothing else is left as dates
    out = mask_text(f"data {raw} ya")
    assert "[NIK]" in out and "3456" not in out and "31740123" not in out


def test_library_bookkeeping_kept_to_warnings():
    buf = io.StringIO()
    handler = configure_logging("INFO", "json", buf)
    try:
        lg = logging.getLogger("fontTools.subset")
        lg.info("maxp pruned")
        lg.warning("glyph missing")
        logging.getLogger("ivr.analytics.scheduler").info("report written")
        assert [r["msg"] for r in lines(buf)] == ["glyph missing", "report written"]
        configure_logging("DEBUG", "json", buf)  # debugging: everything
        lg.info("cmap pruned")
        assert lines(buf)[-1]["msg"] == "cmap pruned"
    finally:
        logging.getLogger().removeHandler(handler)
        logging.getLogger("fontTools").setLevel(logging.NOTSET)


def test_every_logger_and_propagation_masked(logbuf):
    # a third-party logger with its own level, propagating to root
    lg = logging.getLogger("uvicorn.error")
    lg.error("client 0812 3456 7890 disconnected")
    assert lines(logbuf)[0]["msg"] == "client [PHONE] disconnected"


async def test_call_id_follows_asyncio_tasks(logbuf):
    log = logging.getLogger("ivr.calls")

    async def call(cid):
        with bind_call(cid):
            await asyncio.sleep(0)
            inner = asyncio.create_task(asyncio.sleep(0, result=None))
            await inner
            log.info("turn")
            await asyncio.sleep(0)
            log.info("end")

    await asyncio.gather(call("a"), call("b"))
    by_call = {}
    for o in lines(logbuf):
        if o["logger"] != "ivr.calls":
            continue
        by_call.setdefault(o["call_id"], []).append(o["msg"])
    assert by_call == {"a": ["turn", "end"], "b": ["turn", "end"]}
    assert call_id_var.get() is None


def test_text_format(logbuf):
    buf = io.StringIO()
    handler = configure_logging("INFO", "text", buf)
    try:
        with bind_call("c9"):
            logging.getLogger("ivr.t").info("NIK 3174012345670001", extra={"phone": "0812"})
        line = buf.getvalue().strip()
        assert "[c9]" in line and "NIK [NIK]" in line and "phone=[REDACTED]" in line
        assert logbuf.getvalue() == ""  # configure_logging replaced the previous handler
    finally:
        logging.getLogger().removeHandler(handler)
