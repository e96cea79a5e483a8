"""Asterisk's AGI command table for the simulated call, one handler per command.

Each handler mirrors its Asterisk source and returns the reply line(s): ``res/res_agi.c``
(``agi_handle_command`` and the ``handle_*`` functions: dead mode, 510/511/520), ``main/file.c``
and ``main/app.c`` (STREAM FILE, GET DATA via ``ast_app_getdata``), RECORD FILE silence handling
(``ast_dsp_silence`` from ``main/dsp.c``, rewind by ``silence - 1000`` ms), ``main/say.c``. Times
in the caller's clock are scaled by the call's speed factor (``call.real``).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Awaitable, Callable

from ..agi_codec import AgiCommand
from .audio import FRAME_BYTES, RATE, is_silent, wav_bytes
from .audiosocket_app import AudioSocketApp
from .channel import AudioItem, DtmfItem, HangupItem, Inbox

if TYPE_CHECKING:  # pragma: no cover
    from .call import PeerCall

__all__ = ["AgiCommands", "KNOWN", "DEAD_OK", "R510", "R511"]

R511 = "511 Command Not Permitted on a dead channel or intercept routine"
R510 = "510 Invalid or unknown command"
# res_agi.c: commands registered with dead=1 keep working after the hang-up.
DEAD_OK = {"GET VARIABLE", "GET FULL VARIABLE", "SET VARIABLE", "VERBOSE", "EXEC", "NOOP"}
USAGE = {
    "STREAM FILE": (
        "Send the given file, allowing playback to be interrupted by the given digits, if any. "
        "Returns <literal>0</literal> if playback completes without a digit being pressed, or the "
        "ASCII numerical value of the digit if one was pressed, or <literal>-1</literal> on error or "
        "if the channel was disconnected. If musiconhold is playing before calling stream file it "
        "will be automatically stopped and will not be restarted after completion.\n"
        "It sets the following channel variables upon completion:\n"
        "<variable>PLAYBACKSTATUS</variable>: The status of the playback attempt as a text string.\n"
        "    <value>SUCCESS</value>\n    <value>FAILED</value>"),
    "GET DATA": ("Stream the given <replaceable>file</replaceable>, and receive DTMF data.\n"
                 "Returns the digits received from the channel at the other end."),
    "RECORD FILE": (
        "Record to a file until a given dtmf digit in the sequence is received. Returns "
        "<literal>-1</literal> on hangup or error.  The format will specify what kind of file will "
        "be recorded. The <replaceable>timeout</replaceable> is the maximum record time in "
        "milliseconds, or <literal>-1</literal> for no <replaceable>timeout</replaceable>. "
        "<replaceable>offset samples</replaceable> is optional, and, if provided, will seek to the "
        "offset without exceeding the end of the file. <replaceable>beep</replaceable> can take any "
        "value, and causes Asterisk to play a beep to the channel that is about to be recorded. "
        "<replaceable>silence</replaceable> is the number of seconds of silence allowed before the "
        "function returns despite the lack of dtmf digits or reaching <replaceable>timeout</replaceable>. "
        "<replaceable>silence</replaceable> value must be preceded by <literal>s=</literal> and is "
        "also optional."),
}
KNOWN = ["GET FULL VARIABLE", "WAIT FOR DIGIT", "CHANNEL STATUS", "STREAM FILE", "CONTROL STREAM FILE",
         "GET DATA", "GET VARIABLE", "SET VARIABLE", "RECORD FILE", "SAY DIGITS", "SAY NUMBER",
         "ANSWER", "HANGUP", "VERBOSE", "EXEC", "NOOP", "SET CALLERID", "SET MUSIC"]
SAY_FILES = {"*": "digits/star", "#": "digits/pound", "-": "letters/dash"}




class UsageError(Exception):
    """The command's arguments are wrong: Asterisk answers with the 520 usage block."""


Handler = Callable[[list[str]], Awaitable[str]]
#: how a playback or a wait ended: "done" | "digit" | "hangup" | "timeout"
Ending = str


class AgiCommands:
    """Runs AGI commands on one simulated call."""

    def __init__(self, call: "PeerCall") -> None:
        self._call = call
        self._handlers: dict[str, Handler] = {
            "ANSWER": self._answer, "NOOP": self._noop, "VERBOSE": self._verbose,
            "CHANNEL STATUS": self._channel_status, "HANGUP": self._hangup,
            "SET CALLERID": self._set_callerid, "SET MUSIC": self._set_music,
            "SET VARIABLE": self._set_variable, "GET VARIABLE": self._get_variable,
            "GET FULL VARIABLE": self._get_full_variable, "STREAM FILE": self._stream_file,
            "CONTROL STREAM FILE": self._stream_file, "WAIT FOR DIGIT": self._wait_for_digit,
            "GET DATA": self._get_data, "SAY DIGITS": self._say_digits, "SAY NUMBER": self._say_digits,
            "RECORD FILE": self._record_file, "EXEC": self._exec,
        }

    async def execute(self, cmd: AgiCommand) -> tuple[str, str | None]:
        """Return (reply, first-line-of-520 or None). Mirrors res_agi.c:agi_handle_command."""
        call = self._call
        argv = list(cmd.argv)
        up = [a.upper() for a in argv]
        name = None
        for k in KNOWN:
            kw = k.split()
            if up[:len(kw)] == kw:
                name = k
                break
        if name is None:
            return R510, None
        if call.dead and name not in DEAD_OK:
            return R511, None
        try:
            reply = await self._handlers[name](argv)
        except asyncio.CancelledError:
            raise
        except (ValueError, IndexError, OSError) as exc:
            # Whatever the script sends, the simulated Asterisk answers and carries on.
            call.warn(f"{name} failed: {exc}")
            call.failed = True
            return "200 result=-1", None
        except UsageError:
            usage = USAGE.get(name, f"Usage: {name}")
            return usage + "\n520 End of proper usage.", "520-Invalid command syntax.  Proper usage follows:\n"
        return reply, None

    # simple commands -----------------------------------------------------------------------
    async def _answer(self, argv: list[str]) -> str:
        return "200 result=0"

    async def _noop(self, argv: list[str]) -> str:
        return "200 result=0"

    async def _verbose(self, argv: list[str]) -> str:
        if len(argv) < 2:
            raise UsageError
        return "200 result=1"

    async def _channel_status(self, argv: list[str]) -> str:
        return "200 result=6"  # AST_STATE_UP: the dialplan answered before AGI()

    async def _hangup(self, argv: list[str]) -> str:
        # res_agi.c:handle_hangup -> ast_softhangup; the HANGUP line follows the reply.
        self._call.agi_hangup()
        return "200 result=1"

    async def _set_callerid(self, argv: list[str]) -> str:
        return "200 result=1"

    async def _set_music(self, argv: list[str]) -> str:
        return "200 result=0"

    async def _set_variable(self, argv: list[str]) -> str:
        if len(argv) != 4:
            raise UsageError
        call = self._call
        name, value = argv[2], argv[3]
        if name.upper() == "CHANNEL(LANGUAGE)":
            call.language = value
        call.set_variable(name, value)
        if call.peer.ami is not None:
            call.peer.ami.call_event(call, "VarSet", Variable=name, Value=value)
        return "200 result=1"

    async def _get_variable(self, argv: list[str]) -> str:
        if len(argv) != 3:
            raise UsageError
        v = self._call.lookup_variable(argv[2])
        return "200 result=0" if v is None else f"200 result=1 ({v})"

    async def _get_full_variable(self, argv: list[str]) -> str:
        if len(argv) < 4:
            raise UsageError
        expr = argv[3]
        out: list[str] = []
        i = 0
        while i < len(expr):
            if expr.startswith("${", i):
                depth, j = 1, i + 2
                while j < len(expr) and depth:
                    if expr.startswith("${", j):
                        depth += 1
                        j += 2
                        continue
                    if expr[j] == "}":
                        depth -= 1
                    j += 1
                out.append(self._call.lookup_variable(expr[i + 2:j - 1]) or "")
                i = j
            else:
                out.append(expr[i])
                i += 1
        return f"200 result=1 ({''.join(out)})"

    # media commands ------------------------------------------------------------------------
    def _find_sound(self, name: str) -> Path | None:
        """main/file.c: ``<lang>/<name>`` first, then ``<name>``, in the sounds directory."""
        exts = (".wav", ".sln")
        sounds_dir = self._call.peer.sounds_dir
        if name.startswith("/"):
            cands = [Path(name + e) for e in exts]
        elif sounds_dir is None:
            return None
        else:
            base = Path(sounds_dir)
            cands = [base / self._call.language / (name + e) for e in exts] + [base / (name + e) for e in exts]
        return next((c for c in cands if c.is_file()), None)

    def _load_sound(self, name: str) -> bytes | None:
        path = self._find_sound(name)
        if path is None:
            return None
        return self._call.peer.sound_cache(path)

    async def _playback(self, pcm: bytes, escape: str, box: Inbox, offset: int = 0,
                        source: str = "") -> tuple[Ending, str | None, int]:
        """Play into the heard timeline; returns (how, digit, endpos samples)."""
        call = self._call
        loop = asyncio.get_running_loop()
        pos = min(max(0, offset), len(pcm) // 2) * 2
        nxt = loop.time()
        step = call.real(0.02)
        while pos < len(pcm):
            item = await box.get(nxt)
            if item is None:
                chunk = pcm[pos:pos + FRAME_BYTES]
                call.media.on_heard(chunk, source)
                pos += len(chunk)
                nxt += step
                continue
            if isinstance(item, HangupItem):
                return "hangup", None, pos // 2
            if isinstance(item, DtmfItem) and item.digit in escape:
                return "digit", item.digit, pos // 2
        return "done", None, len(pcm) // 2

    async def _stream_file(self, argv: list[str]) -> str:
        if len(argv) < 4 or len(argv) > 5:
            raise UsageError
        call = self._call
        name, escape = argv[2], argv[3]
        offset = int(argv[4]) if len(argv) == 5 and argv[4].lstrip("-").isdigit() else 0
        pcm = self._load_sound(name)
        if pcm is None:
            # file.c: "File %s does not exist in any format"; the handler fails -> AGISTATUS=FAILURE
            call.warn(f"File {name} does not exist in any format")
            call.failed = True
            return "200 result=-1 endpos=0"
        box = call.media.attach()
        try:
            how, digit, endpos = await self._playback(pcm, escape, box, offset, f"stream_file:{name}")
        finally:
            call.media.detach(box)
        if how == "hangup":
            return f"200 result=-1 endpos={endpos}"
        if how == "digit" and digit is not None:
            return f"200 result={ord(digit)} endpos={endpos}"
        return f"200 result=0 endpos={endpos}"

    async def _wait_digit(self, box: Inbox, timeout_real: float | None) -> tuple[Ending, str | None]:
        loop = asyncio.get_running_loop()
        until = None if timeout_real is None else loop.time() + timeout_real
        while True:
            item = await box.get(until)
            if item is None:
                return "timeout", None
            if isinstance(item, HangupItem):
                return "hangup", None
            if isinstance(item, DtmfItem):
                return "digit", item.digit

    async def _wait_for_digit(self, argv: list[str]) -> str:
        if len(argv) != 4:
            raise UsageError
        try:
            ms = int(argv[3])
        except ValueError:
            raise UsageError from None
        call = self._call
        box = call.media.attach()
        try:
            how, d = await self._wait_digit(box, None if ms < 0 else call.real(ms / 1000))
        finally:
            call.media.detach(box)
        if how == "hangup":
            return "200 result=-1"
        return f"200 result={ord(d)}" if d else "200 result=0"

    async def _get_data(self, argv: list[str]) -> str:
        """main/app.c:ast_app_getdata + ast_readstring: any key stops the prompt, '#' ends."""
        if len(argv) < 3 or len(argv) > 5:
            raise UsageError
        call = self._call
        timeout_ms = int(argv[3]) if len(argv) > 3 and argv[3].lstrip("-").isdigit() else 0
        if timeout_ms <= 0:
            timeout_ms = 5000  # pbx dtimeoutms default
        maxd = int(argv[4]) if len(argv) > 4 and argv[4].isdigit() else 1024
        digits = ""
        box = call.media.attach()
        try:
            pcm = self._load_sound(argv[2])
            if pcm is None:
                call.warn(f"File {argv[2]} does not exist in any format")
            else:
                how, d, _ = await self._playback(pcm, "0123456789*#ABCD", box, 0, f"get_data:{argv[2]}")
                if how == "hangup":
                    return "200 result=-1"
                if how == "digit" and d is not None:
                    if d == "#":
                        return "200 result="
                    digits += d
            while len(digits) < maxd:
                how, d = await self._wait_digit(box, call.real(timeout_ms / 1000))
                if how == "hangup":
                    return "200 result=-1"
                if how == "timeout" or d is None:
                    return f"200 result={digits} (timeout)"
                if d == "#":
                    break
                digits += d
        finally:
            call.media.detach(box)
        return f"200 result={digits}"

    async def _say_digits(self, argv: list[str]) -> str:
        if len(argv) != 4:
            raise UsageError
        call = self._call
        escape = argv[3]
        box = call.media.attach()
        try:
            for c in argv[2]:
                pcm = self._load_sound(SAY_FILES.get(c, f"digits/{c}"))
                if pcm is None:
                    continue  # say.c: missing digit files are skipped silently
                how, d, _ = await self._playback(pcm, escape, box, 0, f"say_digits:{c}")
                if how == "hangup":
                    return "200 result=-1"
                if how == "digit" and d is not None:
                    return f"200 result={ord(d)}"
        finally:
            call.media.detach(box)
        return "200 result=0"

    async def _record_file(self, argv: list[str]) -> str:
        """res_agi.c:handle_recordfile."""
        if len(argv) < 6:
            raise UsageError
        call = self._call
        path, fmt, escape = argv[2], argv[3].lower(), argv[4]
        try:
            timeout_ms = int(argv[5])
        except ValueError:
            raise UsageError from None
        silence_ms = 0
        beep = False
        for extra in argv[6:]:
            if extra.startswith("s="):
                try:
                    silence_ms = int(extra[2:]) * 1000
                except ValueError:
                    pass
            elif not extra.lstrip("-").isdigit() and "=" not in extra:
                beep = True
        target = Path(path + "." + fmt) if path.startswith("/") else Path(call.peer.record_dir) / f"{path}.{fmt}"
        if fmt not in ("wav", "sln", "raw") or not target.parent.is_dir():
            call.warn(f"Could not create file {target}")
            return "200 result=-1 (writefile)"
        box = call.media.attach()
        rec = bytearray()
        how, digit, result = "timeout", "", 0
        try:
            if beep:
                pcm = self._load_sound("beep")
                if pcm is not None:
                    h, _, _ = await self._playback(pcm, "", box, 0, "beep")
                    if h == "hangup":
                        how = "hangup"
            silent_run = 0
            elapsed = 0
            loop = asyncio.get_running_loop()
            deadline_real = None if timeout_ms <= 0 else loop.time() + call.real(timeout_ms / 1000) + 1.0
            box.drop_audio()  # record from now on
            while how != "hangup":
                item = await box.get(deadline_real)
                if item is None:
                    break
                if isinstance(item, HangupItem):
                    how = "hangup"
                    break
                if isinstance(item, DtmfItem):
                    if item.digit in escape:
                        how, digit = "dtmf", item.digit
                        break
                    continue
                if not isinstance(item, AudioItem):
                    continue
                frame = item.pcm
                rec += frame
                elapsed += len(frame) * 1000 // (2 * RATE)
                if silence_ms:
                    silent_run = silent_run + 20 if is_silent(frame) else 0
                    if silent_run >= silence_ms:
                        cut = max(0, (silence_ms - 1000)) * RATE * 2 // 1000
                        del rec[len(rec) - min(cut, len(rec)):]
                        how = "silence"
                        result = max(0, timeout_ms - elapsed) if timeout_ms > 0 else 0
                        break
                if timeout_ms > 0 and elapsed >= timeout_ms:
                    how = "timeout"
                    break
        finally:
            call.media.detach(box)
        if fmt == "wav":
            target.write_bytes(wav_bytes(bytes(rec)))
        else:
            target.write_bytes(bytes(rec))
        call.result_obj.recordings.append(str(target))
        endpos = len(rec) // 2
        if how == "hangup":
            return f"200 result=-1 (hangup) endpos={endpos}"
        if how == "dtmf":
            return f"200 result={ord(digit)} (dtmf) endpos={endpos}"
        return f"200 result={result} (timeout) endpos={endpos}"

    # EXEC ----------------------------------------------------------------------------------
    async def _exec(self, argv: list[str]) -> str:
        """res_agi.c:handle_exec -> ``200 result=<app return>``; unknown app -> -2."""
        if len(argv) < 2:
            raise UsageError
        call = self._call
        app = argv[1]
        data = argv[2] if len(argv) > 2 else ""
        a = app.lower()
        if a == "audiosocket":
            result = await AudioSocketApp(call, call.peer.max_audiosocket_payload).run(data)
            return f"200 result={result}"
        if a == "noop":
            return "200 result=0"
        if a == "wait":
            try:
                secs = float(data or 0)
            except ValueError:
                secs = 0.0
            if call.dead:  # dead mode: Wait still waits (fixture: 200 result=0 after 1 s)
                await asyncio.sleep(call.real(secs))
                return "200 result=0"
            box = call.media.attach()
            try:
                hung_up = await self._wait_hangup(box, call.real(secs))
            finally:
                call.media.detach(box)
            return "200 result=-1" if hung_up else "200 result=0"
        if a in ("answer", "ringing", "progress"):
            return "200 result=0"
        if a == "set":
            k, _, v = data.partition("=")
            if k:
                call.set_variable(k, v)
            return "200 result=0"
        if a == "playback":
            box = call.media.attach()
            try:
                for name in data.split(",")[0].split("&"):
                    pcm = self._load_sound(name)
                    if pcm is None:
                        call.warn(f"File {name} does not exist in any format")
                        continue
                    how, _, _ = await self._playback(pcm, "", box, 0, f"playback:{name}")
                    if how == "hangup":
                        return "200 result=-1"
            finally:
                call.media.detach(box)
            return "200 result=0"
        call.warn(f"Could not find application ({app})")
        return "200 result=-2"

    async def _wait_hangup(self, box: Inbox, seconds: float) -> bool:
        """Wait ``seconds``; True if the caller hung up meanwhile."""
        until = asyncio.get_running_loop().time() + seconds
        while True:
            item = await box.get(until)
            if item is None:
                return False
            if isinstance(item, HangupItem):
                return True
