"""A faithful simulated Asterisk (FastAGI client, AudioSocket client, AMI server) for tests,
``ivr call`` and load benches.

Imported from here only (``import telephony`` does not load it). Layout: :mod:`.asterisk`
places calls; :mod:`.call` is one call (the hub), with its FastAGI session (:mod:`.agi_session`,
commands in :mod:`.agi_commands`, ``EXEC AudioSocket`` in :mod:`.audiosocket_app`), its media
(:mod:`.channel`) and the caller-script interpreter (:mod:`.caller`, steps in :mod:`.script`);
:mod:`.ami_server` is the AMI side; :mod:`.result` what a call observed.
"""

from .ami_server import AmiServer, QueueMember
from .asterisk import AsteriskPeer
from .call import PeerCall
from .dialplan import HotlineDialplan
from .result import AgiCommandLog, AudioSocketLog, CallResult, FrameLog, PeerEvent
from .script import (
    Call, CallerScript, Dtmf, Hangup, SayPcm, SayWav, Silence, Step, WaitForCommand, WaitForPrompt,
    WaitForSilence,
)

__all__ = [
    "AsteriskPeer", "AmiServer", "HotlineDialplan", "QueueMember", "PeerCall", "CallResult", "AgiCommandLog", "AudioSocketLog",
    "FrameLog", "PeerEvent", "CallerScript", "Step", "SayPcm", "SayWav", "Silence", "Dtmf", "Hangup",
    "WaitForPrompt", "WaitForSilence", "WaitForCommand", "Call",
]
