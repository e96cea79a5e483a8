"""A faithful simulated Asterisk (FastAGI client, AudioSocket client, AMI server) for tests,
``ivr call`` and load benches."""

from .ami_server import AmiServer
from .asterisk import AsteriskPeer
from .call import PeerCall
from .result import AgiCommandLog, AudioSocketLog, CallResult, FrameLog, PeerEvent
from .script import (
    Call, CallerScript, Dtmf, Hangup, SayPcm, SayWav, Silence, Step, WaitForCommand, WaitForPrompt,
    WaitForSilence,
)

__all__ = [
    "AsteriskPeer", "AmiServer", "PeerCall", "CallResult", "AgiCommandLog", "AudioSocketLog", "FrameLog",
    "PeerEvent", "CallerScript", "Step", "SayPcm", "SayWav", "Silence", "Dtmf", "Hangup", "WaitForPrompt",
    "WaitForSilence", "WaitForCommand", "Call",
]
