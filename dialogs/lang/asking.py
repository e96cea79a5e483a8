"""Whether an utterance asks something: "akta kelahiran biayanya berapa", "samsat buka hari
sabtu nggak", "saya mau tanya syarat pecah kk".

A question's cue words alone do not make a request a question: "ktp saya alamatnya salah"
holds "alamatnya" (the place question's cue after an answer: "alamatnya di mana?") but asks
to correct the address, and "ganti alamat karena pindah rumah" is the moving service. A
question asks with a question word, a tag question ("..., nggak?", "..., belum?"), a question
mark, or says it is one ("mau tanya ...").
"""

from __future__ import annotations

from dialogs.lang.normalize import normalize

# (normalized: "gimana" -> "bagaimana", "dimana" -> "di mana", "brp" -> "berapa", "apakah" -> "apa",
#  "nanya" -> "tanya", "nggak"/"gak"/"ga" -> "tidak")
QUESTION_WORDS = frozenset({
    "apa", "apanya", "berapa", "berapaan", "mana", "manakah", "kapan", "kapankah", "bagaimana",
    "bagaimanakah", "mengapa", "bisakah", "bolehkah", "adakah", "perlukah", "haruskah",
    "tanya", "bertanya", "menanyakan", "ditanyakan",
})
# a tag question at the end ("gratis nggak", "sudah bisa belum ya")
TAG_WORDS = frozenset({"tidak", "belum", "bukan"})
_TRAILING = frozenset({"ya", "yah", "kah", "pak", "bu", "kak", "mbak", "mas", "dong", "sih", "nih", "ini"})


def asks_question(text: str) -> bool:
    """Whether ``text`` asks something (see the module's docstring)."""
    if "?" in text:
        return True
    words = normalize(text).split()
    if any(w in QUESTION_WORDS for w in words):
        return True
    while words and words[-1] in _TRAILING:
        words.pop()
    return len(words) >= 2 and words[-1] in TAG_WORDS
