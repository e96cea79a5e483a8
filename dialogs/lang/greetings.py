"""Greetings: "halo", "selamat pagi, Bu", "assalamualaikum" said on their own.

Many callers first greet the line, as they would a person. Such an utterance asks for
nothing yet, so it is answered in kind ("Selamat pagi.") and the question is asked again,
instead of "Maaf, saya belum mengerti". Only an utterance made of greetings, forms of address
and fillers counts: "selamat siang, saya mau buat KTP" is a request.
"""

from __future__ import annotations

import re

# greeting phrases (as word tuples, with the spellings callers type and the recognizer
# writes) -> the reply, in kind
_PHRASES: dict[tuple[str, ...], str] = {}
for _words, _reply in [
    (("halo",), "Halo."), (("hallo",), "Halo."), (("helo",), "Halo."), (("hello",), "Halo."),
    (("alo",), "Halo."), (("hai",), "Halo."), (("hi",), "Halo."),
    (("selamat", "pagi"), "Selamat pagi."), (("selamat", "siang"), "Selamat siang."),
    (("selamat", "sore"), "Selamat sore."), (("selamat", "malam"), "Selamat malam."),
    (("assalamualaikum",), "Waalaikumsalam."), (("assalamu", "alaikum"), "Waalaikumsalam."),
    (("asalamualaikum",), "Waalaikumsalam."), (("salamualaikum",), "Waalaikumsalam."),
    (("assalamualaikum", "warahmatullahi", "wabarakatuh"), "Waalaikumsalam warahmatullahi wabarakatuh."),
    (("assalamu", "alaikum", "warahmatullahi", "wabarakatuh"), "Waalaikumsalam warahmatullahi wabarakatuh."),
    (("om", "swastiastu"), "Om swastiastu."), (("salam", "sejahtera"), "Salam sejahtera."),
    (("permisi",), "Silakan."), (("punten",), "Silakan."), (("misi",), "Silakan."),
]:
    _PHRASES[_words] = _reply
    if _words[0] == "selamat":   # "slamat pagi", "salamat pagi" (heard or typed)
        for variant in ("slamat", "salamat", "selamet"):
            _PHRASES[(variant, *_words[1:])] = _reply

# forms of address, politeness and fillers that may come with a greeting
_AROUND = frozenset("""pak bu bapak ibu mbak mba mas kak kakak dik adik bang abang min admin
    om tante teh aa akang neng sus suster dok mohon maaf ya iya eh em hm hmm anu nah wr wb
    wa wabarakatuh warahmatullahi semua semuanya juga sore pagi siang malam""".split())

_LONGEST = max(len(p) for p in _PHRASES)
_WORD = re.compile(r"[a-z]+")


def greeting_reply(text: str) -> str | None:
    """The reply in kind when `text` is only a greeting (with address words and fillers),
    else None. The first greeting sets the reply ("halo, selamat pagi" -> "Halo.")."""
    words = _WORD.findall(text.lower().replace("'", ""))
    reply: str | None = None
    i = 0
    while i < len(words):
        for n in range(min(_LONGEST, len(words) - i), 0, -1):
            found = _PHRASES.get(tuple(words[i:i + n]))
            if found is not None:
                reply = reply or found
                i += n
                break
        else:
            if words[i] not in _AROUND:
                return None
            i += 1
    return reply


REPLIES: tuple[str, ...] = tuple(dict.fromkeys(_PHRASES.values()))
"""Every reply (pre-rendered with the script's static prompts)."""
