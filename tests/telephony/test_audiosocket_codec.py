"""AudioSocket codec: framing, roles, caps, fixture transcripts, properties."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given, settings, strategies as st

from telephony.audiosocket_codec import (
    NEED_DATA, AudioFrame, AudioSocketDecoder, DtmfFrame, ErrorFrame, HangupFrame, UuidFrame,
    encode_audio, encode_dtmf, encode_frame, encode_hangup, encode_uuid,
)
from telephony.errors import LocalProtocolError, RemoteProtocolError

from .conftest import decode_all, load_jsonl

U = uuid.UUID("4b6a3d1e-5f2c-4c8e-9a41-3f1d2c7e9b11")


def decode(dec, data: bytes, chunk: int | None = None):
    return decode_all(dec, data, NEED_DATA, chunk)


@pytest.mark.parametrize("chunk", [None, 1, 5])
def test_stream_from_asterisk(chunk):
    pcm = bytes(range(256)) + bytes(64)
    data = encode_uuid(U) + encode_audio(pcm) + encode_dtmf("5") + encode_audio(b"\x01\x00" * 138) + \
        encode_frame(0x12, b"\x00" * 640) + encode_frame(0xFF, b"oops") + encode_hangup()
    evs = decode(AudioSocketDecoder("server"), data, chunk)
    assert evs[0] == UuidFrame(U)
    assert evs[1] == AudioFrame(pcm, 8000, 0x10)
    assert evs[2] == DtmfFrame("5")
    assert len(evs[3].pcm) == 276
    assert evs[4].sample_rate == 16000
    assert evs[5] == ErrorFrame(b"oops")
    assert evs[6] == HangupFrame()


def test_server_role_violations():
    for bad in (encode_audio(b"\0\0" * 160),                      # audio before UUID
                encode_uuid(U) + encode_frame(0x42, b"x"),         # unknown kind
                encode_uuid(U) + encode_frame(0x03, b"12"),        # DTMF length lies
                encode_uuid(U) + encode_frame(0x03, b"x"),         # not a DTMF digit
                encode_frame(0x01, b"short"),                      # UUID length
                encode_uuid(U) + encode_uuid(U),                   # second UUID
                encode_uuid(U) + encode_frame(0x10, b"\0\0\0")):   # odd PCM
        with pytest.raises(RemoteProtocolError):
            decode(AudioSocketDecoder("server"), bad)


def test_lying_length_rejected_before_buffering():
    dec = AudioSocketDecoder("server", max_payload=1000)
    with pytest.raises(RemoteProtocolError, match="exceeds"):
        decode(dec, encode_uuid(U) + b"\x10\xff\xff" + b"\0" * 10)


def test_truncated_frame_at_eof():
    dec = AudioSocketDecoder("server")
    decode(dec, encode_uuid(U) + b"\x10\x01\x40" + b"\0" * 100)
    dec.receive_eof()
    with pytest.raises(RemoteProtocolError, match="inside a frame"):
        dec.next_event()


def test_asterisk_role_accepts_only_hangup_and_audio():
    """res_audiosocket.c: 'Received AudioSocket message other than hangup or audio'."""
    dec = AudioSocketDecoder("asterisk")
    assert decode(dec, encode_audio(b"\0\0" * 160) + encode_hangup())[1] == HangupFrame()
    for bad in (encode_uuid(U), encode_dtmf("1"), encode_frame(0xFF, b"x"), encode_frame(0x10, b"")):
        with pytest.raises(RemoteProtocolError):
            decode(AudioSocketDecoder("asterisk"), bad)


def test_local_errors():
    with pytest.raises(LocalProtocolError):
        encode_audio(b"")
    with pytest.raises(LocalProtocolError):
        encode_audio(b"\0\0", 11025)
    with pytest.raises(LocalProtocolError):
        encode_dtmf("x")
    with pytest.raises(LocalProtocolError):
        encode_frame(0x10, b"\0" * 70000)


@pytest.mark.parametrize("name", ["audiosocket-app-session.jsonl", "audiosocket-agi-exec-close.jsonl",
                                  "audiosocket-agi-exec-badkind.jsonl", "audiosocket-burst-ivr-side.jsonl"])
def test_fixture_frames_decode(name):
    """Rebuild what Asterisk sent (kind, length, first bytes) and decode it byte by byte."""
    rows = [r for r in load_jsonl(name) if r.get("dir") == "ast->us" and "data" in r]
    wire = b""
    for r in rows:
        d = r["data"]
        payload = bytes.fromhex(d["payload_hex"]).ljust(d["len"], b"\0")
        wire += encode_frame(int(d["kind"], 16), payload)
    evs = decode(AudioSocketDecoder("server"), wire, 97)
    assert len(evs) == len(rows)
    assert isinstance(evs[0], UuidFrame) and evs[0].uuid.bytes.hex() == rows[0]["data"]["payload_hex"]
    kinds = {type(e) for e in evs[1:]}
    assert kinds <= {AudioFrame, DtmfFrame}
    if name == "audiosocket-app-session.jsonl":
        assert [e.digit for e in evs if isinstance(e, DtmfFrame)] == ["5"]
        assert sorted({len(e.pcm) for e in evs if isinstance(e, AudioFrame)}) == [242, 276, 320]


@pytest.mark.parametrize("name", ["audiosocket-agi-exec-badkind.jsonl", "audiosocket-status-badkind.jsonl"])
def test_fixture_badkind_is_rejected_by_asterisk_role(name):
    rows = [r for r in load_jsonl(name) if r.get("dir") == "us->ast" and "data" in r]
    bad = rows[-1]["data"]
    assert bad["kind"] == "0x01"
    with pytest.raises(RemoteProtocolError, match="other than hangup or audio"):
        decode(AudioSocketDecoder("asterisk"), encode_frame(0x01, bytes.fromhex(bad["payload_hex"])))


@given(st.binary(max_size=600), st.sampled_from(["server", "asterisk"]), st.integers(1, 40))
@settings(max_examples=400, deadline=None)
def test_random_bytes_only_raise_protocol_error(data, role, chunk):
    dec = AudioSocketDecoder(role, max_payload=512)
    try:
        decode(dec, data, chunk)
        dec.receive_eof()
        while dec.next_event() is not NEED_DATA:
            pass
    except RemoteProtocolError:
        pass


@given(st.lists(st.one_of(
    st.binary(min_size=2, max_size=700).filter(lambda b: len(b) % 2 == 0).map(lambda b: ("a", b)),
    st.sampled_from(list("0123456789*#")).map(lambda d: ("d", d))), max_size=20))
@settings(max_examples=200, deadline=None)
def test_round_trip(items):
    wire = encode_uuid(U) + b"".join(encode_audio(v) if k == "a" else encode_dtmf(v) for k, v in items)
    evs = decode(AudioSocketDecoder("server", max_payload=1024), wire, 13)
    back = [("a", e.pcm) if isinstance(e, AudioFrame) else ("d", e.digit) for e in evs[1:]]
    assert back == items
