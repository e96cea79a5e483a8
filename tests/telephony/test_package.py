"""The package's public surface: error families and what ``import telephony`` loads."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import telephony
from telephony.agi_codec import AgiCodec, AgiPeerCodec
from telephony.audiosocket_codec import AudioSocketDecoder
from telephony.ami_codec import AmiCodec

ROOT = Path(__file__).resolve().parents[2]


def test_import_telephony_does_not_load_the_simulator():
    code = ("import sys, telephony; "
            "print(sorted(m for m in sys.modules if m == 'telephony.peer' or m.startswith('telephony.peer.')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert out.stdout.strip() == "[]", out.stdout
    assert not hasattr(telephony, "AsteriskPeer") and "AsteriskPeer" not in telephony.__all__


def test_hangups_are_one_family():
    assert issubclass(telephony.AgiHangup, telephony.CallerHangup)
    assert issubclass(telephony.ChannelClosed, telephony.CallerHangup)
    assert not issubclass(telephony.AgiError, telephony.CallerHangup)
    assert not issubclass(telephony.CallerHangup, telephony.ProtocolError)


def test_protocol_errors_follow_h11():
    assert issubclass(telephony.RemoteProtocolError, telephony.ProtocolError)
    assert issubclass(telephony.LocalProtocolError, telephony.ProtocolError)
    assert not hasattr(telephony, "TelephonyProtocolError")


@pytest.mark.parametrize("codec, data", [
    (AgiCodec(), b"not a header\n"),
    (AudioSocketDecoder(), b"\x10\x00\x02ab"),      # audio before the UUID frame
    (AmiCodec(), b"HTTP/1.1 200 OK\r\n"),
])
def test_bad_bytes_from_the_peer_are_remote_errors(codec, data):
    codec.receive_data(data)
    with pytest.raises(telephony.RemoteProtocolError):
        codec.next_event()


def test_misuse_is_a_local_error():
    with pytest.raises(telephony.LocalProtocolError):
        AgiCodec().send_command("NOOP")                # before the header block
    with pytest.raises(telephony.LocalProtocolError):
        AgiPeerCodec().send_reply("200 result=0")      # no command waiting

