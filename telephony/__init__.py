"""Everything that speaks Asterisk's protocols: FastAGI, AudioSocket, AMI.

Sans-IO codecs (``agi_codec``, ``audiosocket_codec``, ``ami_codec``), asyncio servers/client
around them (``agi``, ``audiosocket``, ``ami``) and a simulated Asterisk (``peer``).
"""

from .agi import AgiError, AgiHangup, AgiResult, AgiSession, FastAgiServer
from .ami import AmiAuthError, AmiClient, AmiConnectionLost, AmiError
from .ami_codec import AmiMessage
from .audiosocket import AudioSocketServer, CallChannel, ChannelClosed
from .errors import LocalProtocolError, ProtocolError, TelephonyProtocolError
from .peer import (
    AmiServer, AsteriskPeer, CallerScript, CallResult, Dtmf, Hangup, PeerCall, PeerEvent, SayPcm, SayWav,
    Silence, WaitForCommand, WaitForPrompt, WaitForSilence,
)

__all__ = [
    "FastAgiServer", "AgiSession", "AgiResult", "AgiHangup", "AgiError",
    "AudioSocketServer", "CallChannel", "ChannelClosed",
    "AmiClient", "AmiError", "AmiAuthError", "AmiConnectionLost", "AmiMessage",
    "AsteriskPeer", "AmiServer", "PeerCall", "CallResult", "PeerEvent", "CallerScript",
    "SayPcm", "SayWav", "Silence", "Dtmf", "Hangup", "WaitForPrompt", "WaitForSilence", "WaitForCommand",
    "ProtocolError", "LocalProtocolError", "TelephonyProtocolError",
]
