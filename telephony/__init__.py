"""Everything that speaks Asterisk's protocols: FastAGI, AudioSocket, AMI.

Sans-IO codecs (``agi_codec``, ``audiosocket_codec``, ``ami_codec``) and asyncio servers/client
around them (``agi``, ``audiosocket``, ``ami``). The simulated Asterisk used by tests, ``ivr
call`` and benches lives in :mod:`telephony.peer` and is imported from there only
(``from telephony.peer import AsteriskPeer, Dtmf, Hangup, ...``): ``import telephony`` does not
load it.

Errors: :class:`CallerHangup` is the base of every hang-up (:class:`AgiHangup`,
:class:`ChannelClosed`); :class:`ProtocolError` is the base of :class:`RemoteProtocolError`
(the peer broke the protocol) and :class:`LocalProtocolError` (we misused a codec).
"""

from .agi import AgiError, AgiHangup, AgiResult, AgiSession, FastAgiServer
from .ami import AmiAuthError, AmiClient, AmiConnectionLost, AmiError
from .ami_codec import AmiMessage
from .audiosocket import AudioSocketServer, CallChannel, ChannelClosed
from .errors import CallerHangup, LocalProtocolError, ProtocolError, RemoteProtocolError

__all__ = [
    "FastAgiServer", "AgiSession", "AgiResult", "AgiHangup", "AgiError",
    "AudioSocketServer", "CallChannel", "ChannelClosed",
    "AmiClient", "AmiError", "AmiAuthError", "AmiConnectionLost", "AmiMessage",
    "CallerHangup", "ProtocolError", "RemoteProtocolError", "LocalProtocolError",
]
