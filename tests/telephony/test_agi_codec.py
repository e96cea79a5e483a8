"""AGI codec: fed whole, byte by byte and with trailing data; replies; quoting; properties."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from telephony.agi_codec import (
    NEED_DATA, AgiCodec, AgiCommand, AgiConnectionClosed, AgiEnvironment, AgiHangupNotice,
    AgiPeerCodec, AgiReply, format_command, parse_agi_args, parse_reply_line,
)
from telephony.errors import LocalProtocolError, RemoteProtocolError

from .conftest import decode_all, load_jsonl

HEADER = (b"agi_network: yes\nagi_network_script: hotline\nagi_request: agi://127.0.0.1:4573/hotline\n"
          b"agi_uniqueid: 1.2\nagi_accountcode: \nagi_arg_1: transfer\nagi_arg_2: two words\n\n")


def events(codec, data: bytes, chunk: int | None = None):
    return decode_all(codec, data, NEED_DATA, chunk)


@pytest.mark.parametrize("chunk", [None, 1, 7])
def test_header_block_whole_and_split(chunk):
    c = AgiCodec()
    evs = events(c, HEADER, chunk)
    assert len(evs) == 1 and isinstance(evs[0], AgiEnvironment)
    env = evs[0]
    assert env.env["network_script"] == "hotline"
    assert env.env["accountcode"] == ""           # empty value keeps the space on the wire
    assert env.args == ("transfer", "two words")
    assert "arg_1" not in env.env


def test_header_with_trailing_reply_data_is_kept():
    c = AgiCodec()
    evs = events(c, HEADER + b"HANGUP\n")
    assert isinstance(evs[0], AgiEnvironment) and isinstance(evs[1], AgiHangupNotice)


@pytest.mark.parametrize("line,code,result,data,endpos", [
    ("200 result=0", 200, "0", None, None),
    ("200 result=1 (hello world)", 200, "1", "hello world", None),
    ("200 result=0 endpos=11098", 200, "0", None, 11098),
    ("200 result=15421 (timeout) endpos=28503", 200, "15421", "timeout", 28503),
    ("200 result= (timeout)", 200, "", "timeout", None),
    ("200 result=1 (a (nested) value)", 200, "1", "a (nested) value", None),
    ("200 result=1 ()", 200, "1", "", None),
    ("510 Invalid or unknown command", 510, None, None, None),
    ("511 Command Not Permitted on a dead channel or intercept routine", 511, None, None, None),
])
def test_reply_lines(line, code, result, data, endpos):
    r = parse_reply_line(line)
    assert (r.code, r.result, r.data, r.endpos) == (code, result, data, endpos)


def test_bad_reply_lines():
    for bad in ("OK", "20", "200 foo=1", "abc result=1"):
        with pytest.raises(RemoteProtocolError):
            parse_reply_line(bad)


@pytest.mark.parametrize("chunk", [None, 1, 3])
def test_command_replies_and_520_usage(chunk):
    c = AgiCodec()
    events(c, HEADER)
    assert c.send_command("STREAM FILE") == b"STREAM FILE\n"
    evs = events(c, b"520-Invalid command syntax.  Proper usage follows:\nline one\n  line two\n"
                    b"520 End of proper usage.\nHANGUP\n", chunk)
    assert isinstance(evs[0], AgiReply) and evs[0].code == 520
    assert evs[0].usage == ("line one", "  line two")
    assert isinstance(evs[1], AgiHangupNotice)
    assert c.hung_up


def test_local_misuse_is_local_error():
    c = AgiCodec()
    with pytest.raises(LocalProtocolError):
        c.send_command("ANSWER")      # before the header
    events(c, HEADER)
    c.send_command("ANSWER")
    with pytest.raises(LocalProtocolError):
        c.send_command("ANSWER")      # previous one pending
    with pytest.raises(LocalProtocolError):
        AgiCodec().send_command("A\nB")


def test_peer_errors():
    c = AgiCodec()
    with pytest.raises(RemoteProtocolError):
        events(c, b"garbage line\n")
    c = AgiCodec(max_line=100)
    with pytest.raises(RemoteProtocolError):
        events(c, b"agi_x: " + b"a" * 200)   # no newline, too long
    c = AgiCodec(max_header=200)
    with pytest.raises(RemoteProtocolError):
        events(c, b"".join(b"agi_k%d: v\n" % i for i in range(100)))
    c = AgiCodec()
    events(c, HEADER)
    with pytest.raises(RemoteProtocolError):
        events(c, b"200 result=0\n")          # unsolicited reply while idle


def test_eof_handling():
    c = AgiCodec()
    c.receive_data(b"agi_network: yes\n")
    c.receive_eof()
    with pytest.raises(RemoteProtocolError, match="header"):
        c.next_event()
    c = AgiCodec()
    events(c, HEADER)
    c.receive_eof()
    assert isinstance(c.next_event(), AgiConnectionClosed)
    c = AgiCodec()
    events(c, HEADER)
    c.send_command("ANSWER")
    c.receive_data(b"200 res")
    c.receive_eof()
    with pytest.raises(RemoteProtocolError):
        c.next_event()


def test_parse_args_like_res_agi():
    assert parse_agi_args('STREAM FILE ivr/thanks ""') == ("STREAM", "FILE", "ivr/thanks", "")
    assert parse_agi_args('SET VARIABLE FIXTURE_VAR "hello world"') == ("SET", "VARIABLE", "FIXTURE_VAR", "hello world")
    assert parse_agi_args(r'VERBOSE "say \"hi\"" 1') == ("VERBOSE", 'say "hi"', "1")
    assert parse_agi_args("EXEC AudioSocket 4b6a3d1e-5f2c-4c8e-9a41-3f1d2c7e9b11,127.0.0.1:9092")[2] == \
        "4b6a3d1e-5f2c-4c8e-9a41-3f1d2c7e9b11,127.0.0.1:9092"


@given(st.lists(st.text(alphabet=st.characters(blacklist_characters="\r\n\0", blacklist_categories=("Cs",))),
                max_size=6))
@settings(max_examples=200, deadline=None)
def test_quoting_round_trip(args):
    line = format_command("SET", "VARIABLE", args=tuple(args))
    assert parse_agi_args(line) == ("SET", "VARIABLE", *args)


@given(st.binary(max_size=400), st.integers(min_value=1, max_value=50))
@settings(max_examples=300, deadline=None)
def test_random_bytes_only_raise_protocol_error(data, chunk):
    for prefix in (b"", HEADER):
        c = AgiCodec(max_line=256, max_header=1024)
        try:
            events(c, prefix)
            if prefix:
                c.send_command("GET VARIABLE X")
            events(c, data, chunk)
            c.receive_eof()
            while c.next_event() is not NEED_DATA:
                pass
        except RemoteProtocolError:
            pass


@given(st.binary(max_size=400))
@settings(max_examples=200, deadline=None)
def test_peer_codec_random_bytes(data):
    c = AgiPeerCodec(max_line=128)
    c.send_environment({"network": "yes"})
    try:
        evs = events(c, data, 5)
        assert all(isinstance(e, AgiCommand) for e in evs)
    except RemoteProtocolError:
        pass


AGI_FILES = ["agi-full-session.jsonl", "agi-caller-hangup-during-command.jsonl",
             "agi-caller-hangup-during-record.jsonl", "agi-caller-hangup-idle.jsonl",
             "agi-hangup-command.jsonl", "agi-server-close-during-command.jsonl",
             "agi-server-close-idle.jsonl", "agi-status-exec-errors.jsonl",
             "agi-status-missing-file.jsonl", "agi-transfer-simple.jsonl"]


@pytest.mark.parametrize("name", AGI_FILES)
@pytest.mark.parametrize("chunk", [None, 1])
def test_fixture_transcripts_decode(name, chunk):
    """Feed what Asterisk 22 sent, interleaved with our commands, through the codec."""
    rows = load_jsonl(name)
    c = AgiCodec()
    got = []
    pending: list[bytes] = []
    for row in rows:
        if "data" not in row:
            continue
        if row["dir"] == "ast->us":
            pending.append(row["data"].encode())
            continue
        got += events(c, b"".join(pending), chunk)
        pending = []
        c.send_command(row["data"].rstrip("\n"))
    got += events(c, b"".join(pending), chunk)
    assert isinstance(got[0], AgiEnvironment)
    replies = [e for e in got if isinstance(e, AgiReply)]
    commands = [r["data"] for r in rows if r.get("dir") == "us->ast" and "data" in r]
    expected_replies = sum(1 for r in rows if r.get("dir") == "ast->us" and "data" in r
                           and r["data"][:3].isdigit() and r["data"][3] in " ")
    assert len(replies) == expected_replies
    hangups = sum(1 for e in got if isinstance(e, AgiHangupNotice))
    assert hangups == sum(1 for r in rows if r.get("data") == "HANGUP\n" and r["dir"] == "ast->us")
    if name == "agi-full-session.jsonl":
        assert got[0].args == ("transfer",)
        assert list(got[0].env)[:3] == ["network", "network_script", "request"]
        usages = [r for r in replies if r.code == 520]
        assert len(usages) == 3 and "PLAYBACKSTATUS" in usages[0].usage[2]
        assert len(commands) == len(replies)
