"""AMI codec: banner, blocks, repeated keys, event/response classification, fixtures."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from telephony.ami_codec import NEED_DATA, AmiBanner, AmiCodec, encode_message
from telephony.errors import LocalProtocolError, RemoteProtocolError

from .conftest import decode_all, load_jsonl


def decode(codec, data: bytes, chunk: int | None = None):
    return decode_all(codec, data, NEED_DATA, chunk)


SAMPLE = (b"Asterisk Call Manager/11.0.0\r\n"
          b"Response: Success\r\nActionID: a-1\r\nMessage: Authentication accepted\r\n\r\n"
          b"Event: OriginateResponse\r\nPrivilege: call,all\r\nActionID: a-2\r\nResponse: Failure\r\n"
          b"ChanVariable: A=1\r\nChanVariable: B=\r\nValue: \r\n\r\n")


@pytest.mark.parametrize("chunk", [None, 1, 4])
def test_banner_and_messages(chunk):
    evs = decode(AmiCodec(), SAMPLE + b"Event: Partial\r\n", chunk)
    assert evs[0] == AmiBanner("Asterisk Call Manager/11.0.0") and evs[0].version == "11.0.0"
    resp, ev = evs[1], evs[2]
    assert resp.is_response and resp.action_id == "a-1" and resp["message"] == "Authentication accepted"
    assert ev.is_event and not ev.is_response and ev.name == "OriginateResponse"
    assert ev.get_all("ChanVariable") == ["A=1", "B="]
    assert ev["Value"] == ""
    assert len(evs) == 3   # the partial message stays buffered


def test_errors():
    with pytest.raises(RemoteProtocolError, match="banner"):
        decode(AmiCodec(), b"SSH-2.0-OpenSSH\r\n")
    with pytest.raises(RemoteProtocolError):
        decode(AmiCodec(), b"Asterisk Call Manager/11.0.0\r\nno colon here\r\n")
    with pytest.raises(RemoteProtocolError):
        decode(AmiCodec(max_line=50), b"Asterisk Call Manager/11.0.0\r\n" + b"x" * 100)
    with pytest.raises(RemoteProtocolError):
        decode(AmiCodec(max_message=100), b"Asterisk Call Manager/11.0.0\r\n" + b"K: v\r\n" * 50)
    c = AmiCodec()
    decode(c, b"Asterisk Call Manager/11.0.0\r\nResponse: Success\r\n")
    c.receive_eof()
    with pytest.raises(RemoteProtocolError, match="inside"):
        c.next_event()
    with pytest.raises(LocalProtocolError):
        encode_message([("Action", "Ping\r\nAction: Logoff")])
    with pytest.raises(LocalProtocolError):
        encode_message([("Bad:Key", "x")])


def test_legacy_follows_output_is_kept():
    evs = decode(AmiCodec("server"), b"Response: Follows\r\nPrivilege: Command\r\nraw output line\r\n"
                                     b"--END COMMAND--\r\n\r\n")
    assert evs[0].get_all("Output") == ["raw output line", "--END COMMAND--"]


def test_encode_repeats_list_values():
    wire = encode_message([("Action", "Originate"), ("Variable", ["A=1", "B=2"])])
    assert wire == b"Action: Originate\r\nVariable: A=1\r\nVariable: B=2\r\n\r\n"


@pytest.mark.parametrize("name", ["ami-actions.jsonl", "ami-call-transfer.jsonl", "ami-login-failure.jsonl",
                                  "ami-events-agi-caller-hangup-idle.jsonl",
                                  "ami-events-agi-server-close-during-command.jsonl"])
@pytest.mark.parametrize("chunk", [None, 3])
def test_fixture_streams(name, chunk):
    rows = load_jsonl(name)
    server = b"".join(r["data"].encode() for r in rows if r.get("dir") == "ast->us" and "data" in r)
    client = b"".join(r["data"].encode() for r in rows if r.get("dir") == "us->ast" and "data" in r)
    n_server = sum(1 for r in rows if r.get("dir") == "ast->us" and "data" in r)
    evs = decode(AmiCodec("client"), server, chunk)
    assert isinstance(evs[0], AmiBanner) and len(evs) == n_server
    for row, msg in zip([r for r in rows if r.get("dir") == "ast->us" and "data" in r][1:], evs[1:]):
        first = row["data"].split("\r\n", 1)[0]
        assert msg.is_event == first.startswith("Event:")
        assert msg.is_response == first.startswith("Response:")
    actions = decode(AmiCodec("server"), client)
    assert all(a.kind == "action" for a in actions)
    if name == "ami-call-transfer.jsonl":
        orig = next(a for a in actions if a.name == "Originate")
        assert len(orig.get_all("Variable")) >= 2
        complete = [e for e in evs[1:] if e.get("EventList") == "Complete"]
        assert {e.name for e in complete} >= {"CoreShowChannelsComplete", "QueueStatusComplete"}


@given(st.binary(max_size=500), st.sampled_from(["client", "server"]), st.integers(1, 30))
@settings(max_examples=300, deadline=None)
def test_random_bytes_only_raise_protocol_error(data, role, chunk):
    c = AmiCodec(role, max_line=128, max_message=512)
    try:
        decode(c, data, chunk)
        c.receive_eof()
        while c.next_event() is not NEED_DATA:
            pass
    except RemoteProtocolError:
        pass


_key = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_0123456789()", min_size=1, max_size=12)
_val = st.text(alphabet=st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",)), max_size=40)


@given(st.lists(st.tuples(_key, _val), min_size=1, max_size=10))
@settings(max_examples=200, deadline=None)
def test_round_trip(pairs):
    msg = decode(AmiCodec("server"), encode_message(pairs))
    assert len(msg) == 1 and msg[0].headers == tuple(pairs)
    assert msg[0].get(pairs[0][0].upper()) is not None
