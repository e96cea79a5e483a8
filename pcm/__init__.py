"""16-bit PCM audio at the edges of the program: WAV files, resampling, G.711, float samples.

A leaf package: it imports numpy, soxr and the standard library, nothing of ours, and is the
one owner of these conversions for asr (recognition), tts (prompts) and the simulated Asterisk
(telephony.peer); ivr may use it too. Inside the program audio is 16-bit signed
little-endian mono PCM ``bytes`` with an explicit sample rate.

One clipping rule (``float_to_pcm``): a float sample ``x`` (full scale 1.0) becomes
``round(x * 32768)`` (half to even) clipped to -32768..32767. WAV reading and mixing down
follow it; resampling runs on 16-bit samples through libsoxr, which rounds and clips the same
way into 16 bits.
"""

from __future__ import annotations

from pcm.convert import change_speed, duration, float_to_pcm, pcm_to_float, resample, samples
from pcm.errors import PcmError
from pcm.g711 import alaw_decode, alaw_encode, ulaw_decode, ulaw_encode
from pcm.wav import read_wav, wav_bytes, write_wav

__all__ = [
    "PcmError", "alaw_decode", "alaw_encode", "change_speed", "duration", "float_to_pcm",
    "pcm_to_float", "read_wav", "resample", "samples", "ulaw_decode", "ulaw_encode", "wav_bytes",
    "write_wav",
]
