"""Normalisation of colloquial, typed and ASR-style Indonesian text.

`normalize` lower-cases, strips punctuation, expands chat abbreviations and colloquial
forms to their standard spelling, joins spelled-out acronyms ("ka te pe" -> "ktp") and
unifies the many spellings of the documents callers ask about (e-KTP, KTP-el ...).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Protocol

# colloquial / chat / ASR spellings -> standard form (single tokens)
_WORD_MAP: dict[str, str] = {
    # negation
    "gak": "tidak", "ga": "tidak", "gk": "tidak", "nggak": "tidak", "ngga": "tidak",
    "enggak": "tidak", "engga": "tidak", "ndak": "tidak", "nda": "tidak", "tdk": "tidak",
    "tak": "tidak", "kagak": "tidak", "ogah": "tidak", "gamau": "tidak mau",
    # aspect / modality
    "udah": "sudah", "udh": "sudah", "sdh": "sudah", "dah": "sudah", "blm": "belum",
    "belom": "belum", "mo": "mau", "pengen": "ingin", "pingin": "ingin", "pgn": "ingin",
    "mw": "mau", "bisa2": "bisa", "lg": "lagi", "aja": "saja", "aj": "saja", "doang": "saja",
    # question words
    "gimana": "bagaimana", "gmn": "bagaimana", "gmana": "bagaimana", "bgmn": "bagaimana",
    "kenapa": "mengapa", "knp": "mengapa", "napa": "mengapa", "brp": "berapa",
    "dimana": "di mana", "dmn": "di mana", "kemana": "ke mana", "kapan": "kapan",
    "apaan": "apa", "apakah": "apa",
    # pronouns / particles
    "sy": "saya", "aku": "saya", "gue": "saya", "gw": "saya", "ane": "saya", "kami": "saya",
    "yg": "yang", "dgn": "dengan", "dg": "dengan", "utk": "untuk",
    "tlg": "tolong", "tolongin": "tolong", "mhn": "mohon", "krn": "karena", "karna": "karena",
    "sm": "sama", "ama": "sama", "trs": "terus", "trus": "terus", "jg": "juga", "kalo": "kalau",
    "klo": "kalau", "kl": "kalau", "dr": "dari", "dri": "dari", "pd": "pada", "tp": "tapi",
    "tapi": "tetapi", "bpk": "bapak", "ibu2": "ibu", "org": "orang", "tsb": "tersebut",
    "gitu": "begitu", "gini": "begini", "kayak": "seperti", "kaya": "seperti",
    "nih": "", "dong": "", "deh": "", "sih": "", "kok": "", "lho": "", "loh": "", "ya": "ya",
    "yah": "ya", "iya": "ya", "iyaa": "ya", "yaa": "ya", "yup": "ya", "yoi": "ya", "ok": "oke",
    "okay": "oke", "okey": "oke", "okee": "oke", "sip": "oke", "siap": "oke",
    "mbak": "", "mas": "", "pak": "", "bu": "", "kak": "", "halo": "", "hallo": "", "hai": "",
    "permisi": "", "assalamualaikum": "", "selamat": "selamat",
    # verbs: colloquial N- prefixes and slang
    "bikin": "buat", "bkin": "buat", "bikinin": "buat", "ngurus": "urus", "ngurusin": "urus",
    "ngurusnya": "urus", "urusnya": "urus", "nyari": "cari", "ngecek": "cek", "ngecekin": "cek",
    "cekin": "cek", "ngelapor": "lapor", "ngelaporin": "lapor", "laporin": "lapor",
    "ngadu": "adu", "ngaduin": "adu", "nanya": "tanya", "nanyain": "tanya", "tanyain": "tanya",
    "ngomong": "bicara", "ngobrol": "bicara", "ngasih": "beri", "dapet": "dapat",
    "dpt": "dapat", "ilang": "hilang", "ketinggalan": "hilang", "bayarin": "bayar",
    "ngebayar": "bayar", "nerima": "terima", "ganti": "ganti", "benerin": "perbaiki",
    "nyambung": "sambung", "sambungin": "sambung", "nyambungin": "sambung", "pindahan": "pindah",
    "balikin": "kembali", "balik": "kembali", "lahiran": "lahir", "ngelahirin": "lahir",
    "meninggoy": "meninggal", "makasih": "terima kasih", "makasi": "terima kasih",
    "trims": "terima kasih", "thanks": "terima kasih", "thx": "terima kasih", "tq": "terima kasih",
    "udahan": "selesai", "kedengeran": "dengar", "kedengaran": "dengar", "denger": "dengar",
    "banget": "sekali", "bgt": "sekali", "bener": "benar", "duit": "uang", "nafas": "napas",
    "ngeluh": "mengeluh", "ngeluhin": "mengeluh", "hp": "handphone", "ponsel": "handphone",
    # regional (Javanese, Sundanese, Betawi) words callers mix in
    "ora": "tidak", "mboten": "tidak", "teu": "tidak", "piye": "bagaimana",
    "kumaha": "bagaimana", "wis": "sudah", "uwis": "sudah", "arep": "mau", "kulo": "saya",
    "nopo": "apa", "sampeyan": "anda", "panjenengan": "anda", "monggo": "silakan",
    "mah": "", "tuh": "", "toh": "", "gan": "", "bro": "", "sis": "", "bang": "", "neng": "",
    "om": "", "kang": "", "bli": "",
    # English words in Indonesian speech
    "cancel": "batal", "repeat": "ulangi", "again": "lagi", "sorry": "maaf", "help": "tolong",
    "emergency": "darurat", "accident": "kecelakaan", "fire": "kebakaran", "please": "tolong",
    "bye": "dadah", "check": "cek", "update": "perbarui", "report": "lapor",
    "officer": "petugas", "agent": "agen", "complaint": "komplain", "payment": "bayar",
    "tax": "pajak", "hello": "", "hi": "", "sir": "", "mam": "",
    "komplen": "komplain", "complain": "komplain", "wafat": "meninggal", "almarhum": "meninggal",
    "almarhumah": "meninggal", "tewas": "meninggal",
    # documents and agencies
    "ektp": "ktp", "e-ktp": "ktp", "ktpel": "ktp", "ktp-el": "ktp", "katepe": "ktp",
    "kartu_tanda_penduduk": "ktp", "kakaa": "kk", "akte": "akta", "akteu": "akta", "aktа": "akta",
    "bpjs": "bpjs", "bepejees": "bpjs", "bepejes": "bpjs", "jkn": "bpjs", "kis": "bpjs", "askes": "bpjs",
    "samsat": "samsat", "stnk": "stnk", "pkb": "pajak kendaraan", "sppt": "sppt",
    "pbb": "pbb", "pebebe": "pbb", "dukcapil": "dukcapil", "capil": "dukcapil",
    "disdukcapil": "dukcapil", "puskesmas": "puskesmas", "pkm": "puskesmas", "rs": "rumah sakit",
    "rsud": "rumah sakit", "bansos": "bansos", "blt": "blt", "pkh": "pkh", "bpnt": "bpnt",
    "dtks": "dtks", "kemensos": "kemensos", "motor": "motor", "mobil": "mobil",
    "skpwni": "surat pindah", "domisili": "domisili", "nik": "nik",
    "cs": "petugas", "admin": "petugas", "orangnya": "petugas", "operator": "operator",
    "ambulan": "ambulans", "ambulance": "ambulans", "ambulans": "ambulans",
    "tilang": "tilang", "sim": "sim", "paspor": "paspor", "pasport": "paspor",
    "passport": "paspor",
}

# multi-word colloquial phrases and spelled acronyms (whole words, longest first)
_PHRASES: dict[str, str] = {
    "ka te pe": "ktp", "ka tepe": "ktp", "kate pe": "ktp", "karte pe": "ktp", "ka te p": "ktp",
    "e ktp": "ktp", "ktp el": "ktp", "kartu tanda penduduk elektronik": "ktp",
    "kartu tanda penduduk": "ktp", "ktp elektronik": "ktp", "ka ka": "kk",
    "kartu keluarga": "kk", "be pe je es": "bpjs", "be pe je": "bpjs",
    "bpjs kes": "bpjs kesehatan", "kartu indonesia sehat": "bpjs", "pe be be": "pbb",
    "pe ka ha": "pkh", "be el te": "blt", "es te en ka": "stnk",
    "surat tanda nomor kendaraan": "stnk", "pajak bumi dan bangunan": "pbb",
    "pajak bumi bangunan": "pbb", "akta lahir": "akta kelahiran", "akta mati": "akta kematian",
    "surat kematian": "akta kematian", "di urus": "diurus", "nomor induk kependudukan": "nik",
    "en i ka": "nik", "call center": "petugas", "customer service": "petugas",
    "orang asli": "petugas", "manusia": "petugas", "satu satu dua": "112",
    "satu satu sembilan": "119",
}
_PHRASE_ONE_RE = re.compile(
    r"\b(?:" + "|".join(re.escape(p) for p in sorted(_PHRASES, key=len, reverse=True)) + r")\b"
)
# phrases that depend on what follows
_CONTEXT_RE = [
    (re.compile(r"\bkaka\b(?= (baru|hilang|rusak|saya|anak|suami|istri))"), "kk"),
    (re.compile(r"\bkosong\b(?= (satu|dua|tiga|empat|lima|enam|tujuh|delapan|sembilan|nol|kosong))"), "nol"),
]

_PUNCT_RE = re.compile(r"[^\w\s-]", re.UNICODE)
_SPACE_RE = re.compile(r"\s+")
_REPEAT_RE = re.compile(r"(\w)\1{2,}")  # "tolonggg" -> "tolong"
_DASH_RE = re.compile(r"(?<!\w)-|-(?!\w)")
_REDUP_RE = re.compile(r"\b(\w{3,})-\1\b")   # "anak-anak" -> "anak" (not letter names: "pe-be-be" is pbb)
_REDUP2_RE = re.compile(r"\b(\w+)2\b")     # "anak2" -> "anak"


@lru_cache(maxsize=8192)
def normalize(text: str) -> str:
    """Lower-cased, punctuation-free, standard-spelling form of an utterance."""
    t = unicodedata.normalize("NFKC", text).lower()
    t = t.replace("_", " ")
    t = _REDUP_RE.sub(r"\1", t)
    t = _PUNCT_RE.sub(" ", t)
    t = _DASH_RE.sub(" ", t)
    t = _REPEAT_RE.sub(r"\1", t)
    out: list[str] = []
    for tok in t.split():
        if tok in _WORD_MAP:
            rep = _WORD_MAP[tok]
        elif "-" in tok and tok.replace("-", "") in _WORD_MAP:
            rep = _WORD_MAP[tok.replace("-", "")]
        else:
            m = _REDUP2_RE.fullmatch(tok)
            rep = m.group(1) if m and not tok.isdigit() else tok.replace("-", " ")
        if rep:
            out.append(rep)
    t = " ".join(out)
    t = _PHRASE_ONE_RE.sub(lambda m: _PHRASES[m.group(0)], t)
    if "kaka" in t or "kosong" in t:
        for pat, rep in _CONTEXT_RE:
            t = pat.sub(rep, t)
    return _SPACE_RE.sub(" ", t).strip()


def tokens(text: str) -> list[str]:
    return normalize(text).split()


class _Dictionary(Protocol):
    def contains(self, word: str) -> bool: ...


class _Delegated(Protocol):
    dictionary: _Dictionary


class _Stemmer(Protocol):
    """What we use of Sastrawi's stemmer (the package has no type information)."""

    delegatedStemmer: _Delegated

    def stem(self, text: str) -> str: ...


_stemmer: _Stemmer | None = None


def _get_stemmer() -> _Stemmer:
    global _stemmer
    if _stemmer is None:
        from Sastrawi.Stemmer.StemmerFactory import StemmerFactory

        made: _Stemmer = StemmerFactory().create_stemmer()
        _stemmer = made
    return _stemmer


# words the stemmer mangles or that must stay whole
_NO_STEM = {"ktp", "kk", "bpjs", "pbb", "nik", "stnk", "samsat", "bansos", "pkh", "blt",
            "bpnt", "dtks", "kemensos", "puskesmas", "posyandu", "sppt", "petugas", "operator",
            "ulangi", "domisili", "retribusi", "pengaduan", "kematian", "kelahiran", "kesehatan",
            "kendaraan", "bantuan", "perumahan", "pelayanan", "layanan", "keluarga", "ambulans",
            "darurat", "kebakaran", "selesai", "imunisasi", "rumah", "sakit", "pajak", "akta",
            "sampah", "pasar", "parkir", "makam", "pemakaman", "tiket", "status", "laporan",
            "meninggal", "tinggal", "pendatang", "kedatangan", "perkembangan", "keadaan"}


@lru_cache(maxsize=16384)
def is_known_word(word: str) -> bool:
    """True if `word` or its stem is an Indonesian root word (Sastrawi's dictionary)."""
    d = _get_stemmer().delegatedStemmer.dictionary
    return d.contains(word) or d.contains(stem(word))


@lru_cache(maxsize=16384)
def stem(word: str) -> str:
    if word in _NO_STEM or len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith("nya") and word[:-3] in _NO_STEM:
        return word[:-3]
    if word in _STEM_FIX:
        return _STEM_FIX[word]
    return _get_stemmer().stem(word) or word


# words Sastrawi stems wrongly
_STEM_FIX = {"perampokan": "rampok", "perampok": "rampok", "nabrak": "tabrak",
             "pendarahan": "pendarahan", "perdarahan": "pendarahan",
             "nyambung": "sambung", "nyambungin": "sambung"}


def stem_tokens(text: str) -> list[str]:
    return [stem(w) for w in tokens(text)]


_PHON_RULES = [
    (re.compile(r"kh"), "k"), (re.compile(r"sy"), "s"), (re.compile(r"ny"), "n"),
    (re.compile(r"ng"), "n"), (re.compile(r"dz"), "z"), (re.compile(r"[fv]"), "p"),
    (re.compile(r"(?<=[aiueo])w(?=[aiueo])"), ""), (re.compile(r"q"), "k"), (re.compile(r"x"), "ks"), (re.compile(r"z"), "s"),
    (re.compile(r"c"), "s"), (re.compile(r"j"), "y"), (re.compile(r"[ei]"), "i"),
    (re.compile(r"[ou]"), "u"), (re.compile(r"(?<=[a-z])h(?=[^aiueo]|$)"), ""),
    (re.compile(r"^h(?=[aiueo])"), ""), (re.compile(r"(?<=[aiu])[td]$"), "t"),
    (re.compile(r"(?<=[aiu])[kg]$"), "k"), (re.compile(r"(?<=[aiu])[pb]$"), "p"),
    (re.compile(r"(\w)\1+"), r"\1"),
]


@lru_cache(maxsize=16384)
def phonetic_key(word: str) -> str:
    """A coarse Indonesian sound-alike key: merges letters ASR and typists confuse.
    Acronyms (no vowel: sppt, spt, stnk) are spelled letter by letter and kept as they are."""
    if not any(v in word for v in "aiueo"):
        return word
    k = word
    for pat, rep in _PHON_RULES:
        k = pat.sub(rep, k)
    return k or word
