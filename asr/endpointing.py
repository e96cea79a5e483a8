"""End of turn from what was said: answer now, or keep listening and for how long.

The endpointer (``asr.vad.Endpointer``) hears silence; it cannot tell a caller who has finished
("KTP saya hilang.") from one who pauses mid-request ("saya mau urus ... eh ...", "nomor
tiketnya ... empat delapan"). The recognizer decodes speculatively after a short silence; this
module reads that early result and decides how much trailing silence the turn needs:

* ``short_ms`` when the early result is a complete, confident answer to what the state expects
  (an intent at or above ``confident_at``, a clear yes or no, the expected count of digits);
* ``long_ms`` when it looks cut: it ends on a filler ("eh", "anu", "apa namanya"), on a word
  that needs a continuation ("yang", "di", "untuk", "dan", "soal", "nomor" ...), on a comma or
  an ellipsis in the transcript, or holds fewer digits than expected;
* ``normal_ms`` otherwise (unsure or unknown); free descriptions get ``free_ms``: they are long
  and full of pauses, and nothing is gained by answering early;
* brief audio (``EarlyResult.audio_s`` under ``brief_s``: a pause after two seconds or less of
  speech is mostly mid-request, "saya mau ...", "KTP saya ...") waits ``long_ms`` too, unless it
  is a whole yes or no or all the digits expected;
* a request or a yes/no whose voice did not close (``EarlyResult.continues``: the pitch of the
  last voiced sound level or gently rising, ``asr.prosody``) waits at least ``normal_ms``: the
  words of a garbled early result rarely show a cut, the voice often does.

The defaults were chosen on bench_endpointing's pauses-dev and checked on pauses-test
(docs/understanding.md, "Phase 4 (helper turn)").

Pure and synchronous: a few string operations per decision. The caller (the call's media
loop) keeps listening while the trailing silence is shorter than ``TurnDecision.wait_ms``;
speech resuming discards the early result as before.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

KINDS = ("intent", "yesno", "digits", "free")

# the caller is still looking for words
FILLERS = frozenset({"eh", "ehm", "em", "emm", "hmm", "hm", "anu", "apa", "eee", "ee", "e", "itu", "mm", "uh", "um",
                     "gimana", "bagaimana", "apa namanya"})
# words that need something after them (prepositions, conjunctions, relative "yang", verbs of
# wanting, nouns that announce a number); not "saya"/"kami": requests end on them ("akta
# kelahiran anak saya"), and on pauses-dev no early result at a pause did
CONTINUES = frozenset({
    "yang", "di", "ke", "dari", "untuk", "buat", "dan", "atau", "dengan", "sama", "soal", "tentang", "mengenai",
    "karena", "kalau", "jika", "tapi", "tetapi", "serta", "agar", "supaya", "pada", "oleh", "bahwa", "mau", "ingin",
    "hendak", "akan", "perlu", "butuh", "minta", "tolong", "adalah", "yaitu", "seperti", "para",
    "nomor", "nomornya", "no", "nik", "tiket", "tiketnya", "telepon", "hp", "kode", "sudah", "belum", "lagi", "juga",
    "terus", "lalu", "kemudian", "si", "sang", "per", "se", "sejak", "sampai", "hingga", "selama", "tanpa", "antara",
    "bukan", "tidak", "nggak", "gak", "enggak",
})
YES = frozenset({"ya", "iya", "betul", "benar", "boleh", "oke", "ok", "setuju", "silakan", "tentu", "baik", "mau",
                 "sudah", "yes", "yoi", "nggih", "inggih"})
NO = frozenset({"tidak", "nggak", "gak", "enggak", "bukan", "salah", "jangan", "batal", "belum", "no", "ndak"})
DIGIT_WORDS = {"nol": 1, "kosong": 1, "satu": 1, "dua": 1, "tiga": 1, "empat": 1, "lima": 1, "enam": 1, "tujuh": 1,
               "delapan": 1, "sembilan": 1, "se": 0}
_WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class TurnExpectation:
    """What the listening state expects: ``kind`` one of KINDS; for digits the count wanted
    (``min_digits``..``max_digits``; 0 = unknown)."""

    kind: str = "intent"
    min_digits: int = 0
    max_digits: int = 0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown expectation kind {self.kind!r}; use one of {KINDS}")


@dataclass(frozen=True)
class EarlyResult:
    """The speculative recognition after a short silence: its transcript and the confidence
    of the decision it would lead to (calibrated when a calibrator is used)."""

    text: str
    confidence: float = 0.0
    audio_s: float = 0.0  # seconds of audio the result was decoded from (0: unknown)
    continues: bool = False  # the voice did not close: level or rising at the end (asr.prosody)


@dataclass(frozen=True)
class TurnDecision:
    wait_ms: int  # trailing silence the turn needs before the answer
    reason: str  # complete | brief | cut | unsure | free | empty | rising

    def answer_now(self, trailing_ms: int) -> bool:
        """Whether the turn is over after ``trailing_ms`` of silence."""
        return trailing_ms >= self.wait_ms


def digit_count(text: str) -> int:
    """Digits said or written in ``text`` ("nol delapan 12" -> 4)."""
    n = 0
    for w in _WORD.findall(text.lower()):
        if w.isdigit():
            n += len(w)
        else:
            n += DIGIT_WORDS.get(w, 0)
    return n


@dataclass(frozen=True)
class EndOfTurn:
    short_ms: int = 250
    normal_ms: int = 1000  # unsure (bench_endpointing pauses-dev: 1,300 cut no fewer requests
    # once brief audio waits long_ms, and made every unsure turn wait 300 ms more)
    long_ms: int = 1600  # looks cut: also the 1.1-1.4 s pauses of hesitating callers
    free_ms: int = 1300
    confident_at: float = 0.6  # intent confidence that ends a turn after short_ms (calibrated)
    brief_s: float = 2.4  # early results of less audio (silence around the speech included)
    # wait long_ms (pauses-dev cut no more with 900 ms for confident ones, but bench_calls --pauses
    # holds 1.1-1.4 s pauses after "kartu bpjs saya", "jadwal imunisasi")
    prosody: bool = True  # a request or yes/no whose voice did not close waits normal_ms at least

    def decide(self, result: EarlyResult, expect: TurnExpectation) -> TurnDecision:
        d = self._decide(result, expect)
        if result.continues and self.voice_can_hold(d, expect):
            return TurnDecision(self.normal_ms, "rising")
        return d

    def voice_can_hold(self, decision: TurnDecision, expect: TurnExpectation) -> bool:
        """Whether a voice that did not close would lengthen ``decision`` (a request or a
        yes/no given less than ``normal_ms``): only then is the voice worth reading."""
        return self.prosody and expect.kind in ("intent", "yesno") and decision.wait_ms < self.normal_ms

    def _decide(self, result: EarlyResult, expect: TurnExpectation) -> TurnDecision:
        raw = (result.text or "").strip().lower()
        words = _WORD.findall(raw)
        if not words:
            return self._brief(TurnDecision(self.normal_ms, "empty"), result)
        if expect.kind == "free":
            return TurnDecision(self.long_ms if self._looks_cut(raw, words) else self.free_ms,
                                "cut" if self._looks_cut(raw, words) else "free")
        if expect.kind == "digits":
            d = self._digits(raw, words, expect)
            return d if d.reason == "complete" else self._brief(d, result)
        if expect.kind == "yesno":
            # "tidak" or "bukan" alone is a whole answer: only a filler or a comma looks cut
            if self._looks_cut(raw, words, digits=True):
                return TurnDecision(self.long_ms, "cut")
            said = set(words)
            if (said & YES) or (said & NO):
                return TurnDecision(self.short_ms, "complete")  # "iya" is short and whole
            return self._brief(TurnDecision(self.normal_ms, "unsure"), result)
        if self._looks_cut(raw, words):
            return TurnDecision(self.long_ms, "cut")
        if result.confidence >= self.confident_at:
            return self._brief(TurnDecision(self.short_ms, "complete"), result)
        return self._brief(TurnDecision(self.normal_ms, "unsure"), result)

    def _brief(self, d: TurnDecision, result: EarlyResult) -> TurnDecision:
        """A result of brief audio waits ``long_ms`` (cut ones do anyway)."""
        if not result.audio_s or result.audio_s >= self.brief_s or d.wait_ms >= self.long_ms:
            return d
        return TurnDecision(self.long_ms, "brief")

    def _digits(self, raw: str, words: list[str], expect: TurnExpectation) -> TurnDecision:
        n = digit_count(raw)
        if expect.min_digits and n < expect.min_digits:
            return TurnDecision(self.long_ms, "cut")
        if n and (not expect.max_digits or n <= expect.max_digits) and not self._looks_cut(raw, words, digits=True):
            # a phone number has a range of lengths: a count short of the longest may be a pause
            if expect.max_digits and n < expect.max_digits:
                return TurnDecision(self.normal_ms, "unsure")
            return TurnDecision(self.short_ms, "complete")
        if self._looks_cut(raw, words, digits=True) or not n:
            return TurnDecision(self.long_ms, "cut")
        return TurnDecision(self.normal_ms, "unsure")

    @staticmethod
    def _looks_cut(raw: str, words: list[str], digits: bool = False) -> bool:
        """Ends on a comma, an ellipsis, a filler, or (unless ``digits``: numbers and short
        answers end on anything) a word that needs a continuation."""
        last = words[-1]
        if raw.endswith((",", "...", "…", "-", ":")):
            return True
        if last in FILLERS or (len(words) >= 2 and " ".join(words[-2:]) in FILLERS):
            return True
        return not digits and last in CONTINUES
