"""Written Indonesian -> what should be spoken, for any synthesizer.

`prepare_text("Bawa KTP-el dan KK, biaya Rp 50.000, buka pukul 08.00 WIB.")` ->
"Bawa ka te pe el dan ka ka, biaya lima puluh ribu rupiah, buka pukul delapan we i be."

Rules, in order:
- rupiah amounts ("Rp 50.000", "Rp50.000,-", "Rp 1,5 juta") -> words + "rupiah";
- times ("08.00", "pukul 8:30", "08.00-15.00 WIB") -> "pukul delapan", "pukul delapan lewat tiga
  puluh menit";
- dates ("28/11/2026", "28-11-2026", "2026-11-28", "28 November 2026") -> day and year in words, month by name;
- NIK (16 digits), phone numbers (0.../+62..., digits after "nomor", "telepon", "hubungi",
  "SMS", ...), short service numbers (112, 1500537...), ticket ids (letters+digits) and
  numbers written as three or more dash-joined digit groups (the hotline's ticket numbers,
  "2611-00042-7") -> digit by digit ("nol", "satu", ...), in groups separated by commas
  (short pauses), following the written groups;
- abbreviations as Indonesians say them (KTP "ka te pe", BPJS "be pe je es", RT/RW "er te er
  we", NIK "nik"), unknown all-consonant capitals spelt letter by letter;
- DTMF keys ("tekan 1", "tekan #") and remaining numbers in words (num2words, lang="id"),
  "%" -> "persen", ordinals "ke-2" -> "kedua".
"""

from __future__ import annotations

import re
import unicodedata

from num2words import num2words

__all__ = ["prepare_text", "say_number", "say_digits", "spell"]

DIGITS = ("nol", "satu", "dua", "tiga", "empat", "lima", "enam", "tujuh", "delapan", "sembilan")

LETTERS = {
    "a": "a", "b": "be", "c": "ce", "d": "de", "e": "e", "f": "ef", "g": "ge", "h": "ha",
    "i": "i", "j": "je", "k": "ka", "l": "el", "m": "em", "n": "en", "o": "o", "p": "pe",
    "q": "ki", "r": "er", "s": "es", "t": "te", "u": "u", "v": "ve", "w": "we", "x": "eks",
    "y": "ye", "z": "zet",
}

MONTHS = (
    "Januari", "Februari", "Maret", "April", "Mei", "Juni",
    "Juli", "Agustus", "September", "Oktober", "November", "Desember",
)

# Abbreviations read as words or in a fixed way. Keys are matched case-sensitively as whole
# tokens; all-consonant capitals not listed here are spelt letter by letter.
ABBREVIATIONS = {
    "KTP-el": "ka te pe el",
    "e-KTP": "e ka te pe",
    "E-KTP": "e ka te pe",
    "KTP": "ka te pe",
    "KK": "ka ka",
    "KIA": "ka i a",
    "NIK": "nik",
    "NIB": "ni be",
    "NPWP": "en pe we pe",
    "BPJS": "be pe je es",
    "JKN": "je ka en",
    "KIS": "kis",
    "PBB": "pe be be",
    "PBB-P2": "pe be be pe dua",
    "PKB": "pe ka be",
    "SPPT": "es pe pe te",
    "STNK": "es te en ka",
    "BPKB": "be pe ka be",
    "SIM": "sim",
    "SKCK": "es ka ce ka",
    "SKPWNI": "es ka pe we en i",
    "PBG": "pe be ge",
    "SIMBG": "sim be ge",
    "QRIS": "kris",  # Bank Indonesia: "QRIS (dibaca KRIS)"
    "NOP": "en o pe",
    "IMB": "i em be",
    "RT": "er te",
    "RW": "er we",
    "RT/RW": "er te er we",
    "RSUD": "er es u de",
    "PKH": "pe ka ha",
    "BPNT": "be pe en te",
    "BLT": "be el te",
    "DTKS": "de te ka es",
    "PSC": "pe es ce",
    "SP4N": "es pe empat en",
    "SP4N-LAPOR!": "es pe empat en lapor",
    "SP4N-LAPOR": "es pe empat en lapor",
    "LAPOR!": "lapor",
    "OTP": "o te pe",
    "PIN": "pin",
    "LAPOR": "lapor",
    "SMS": "es em es",
    "WA": "we a",
    "WIB": "we i be",
    "WITA": "wita",
    "WIT": "we i te",
    "OK": "oke",
    "Dukcapil": "dukcapil",
    "Disdukcapil": "disdukcapil",
    "Kemensos": "kemensos",
    "Samsat": "samsat",
    "ASN": "a es en",
    "PNS": "pe en es",
    "TNI": "te en i",
    "Polri": "polri",
    "UU": "undang-undang",
    "PP": "peraturan pemerintah",
    "Perda": "perda",
    "dll": "dan lain-lain",
    "dll.": "dan lain-lain",
    "dsb": "dan sebagainya",
    "dsb.": "dan sebagainya",
    "dst": "dan seterusnya",
    "dst.": "dan seterusnya",
    "yth.": "yang terhormat",
    "Yth.": "yang terhormat",
    "a.n.": "atas nama",
    "s.d.": "sampai dengan",
    "s/d": "sampai dengan",
    "tgl.": "tanggal",
    "tgl": "tanggal",
    "No.": "nomor",
    "no.": "nomor",
    "Jl.": "jalan",
    "Kel.": "kelurahan",
    "Kec.": "kecamatan",
    "Kab.": "kabupaten",
    "Prov.": "provinsi",
    "Bpk.": "bapak",
    "Ibu/Bapak": "ibu atau bapak",
    "Bapak/Ibu": "bapak atau ibu",
    "&": "dan",
    "#": "tanda pagar",
    "*": "tanda bintang",
}

# Words after which a run of digits is a number to read digit by digit.
_DIGIT_CUES = (
    r"nomor(?:\s+(?:telepon|telp|hp|ponsel|wa|whatsapp|tiket|pengaduan|laporan|antrean|"
    r"antrian|registrasi|induk\s+kependudukan|kk|nik|ktp|rekening|pelanggan|referensi))?|"
    r"no\.?(?:\s*(?:telp|hp|tiket))?|telepon|telp\.?|hp|ponsel|whatsapp|wa|hubungi|sms|"
    r"call\s+center|hotline|kode|tiket|pin|otp|nik|nomer|darurat"
)

_WS = re.compile(r"\s+")
_NUMBER = r"\d{1,3}(?:\.\d{3})+|\d+"  # 50.000 or 50000


def say_number(value: int | str) -> str:
    """An integer in Indonesian words: 1500 -> "seribu lima ratus"."""
    return num2words(int(value), lang="id")


def say_digits(digits: str, group: int = 0) -> str:
    """Digit by digit; `group` > 0 inserts a comma (a short pause) every `group` digits."""
    only = [d for d in digits if d.isdigit()]
    words = [DIGITS[int(d)] for d in only]
    if group <= 0:
        return " ".join(words)
    chunks = [" ".join(words[i : i + group]) for i in range(0, len(words), group)]
    return ", ".join(chunks)


def spell(token: str) -> str:
    """Letters by their Indonesian names, digits one by one: "B12" -> "be satu dua"."""
    out = []
    for ch in token:
        if ch.isdigit():
            out.append(DIGITS[int(ch)])
        elif ch.lower() in LETTERS:
            out.append(LETTERS[ch.lower()])
    return " ".join(out)


def _amount(text: str) -> int:
    return int(text.replace(".", ""))


def _decimal(integer: str, fraction: str) -> str:
    words = say_number(_amount(integer))
    if fraction and int(fraction):
        words += " koma " + say_digits(fraction.rstrip("0") or "0")
    return words


# --- rupiah -------------------------------------------------------------------------------
_SCALE = {"ribu": "ribu", "rb": "ribu", "juta": "juta", "jt": "juta", "miliar": "miliar", "m": "miliar",
          "triliun": "triliun", "t": "triliun"}
_RUPIAH = re.compile(
    r"\bRp\.?\s?(?P<int>" + _NUMBER + r")(?:,(?P<frac>\d{1,2}))?(?:,-)?"
    r"(?:\s?(?P<scale>ribu|rb|juta|jt|miliar|triliun)\b)?(?:\s+rupiah\b)?",
    re.IGNORECASE,
)
_RUPIAH_WORD = re.compile(r"\b(?P<int>" + _NUMBER + r")(?:,(?P<frac>\d{1,2}))?\s+rupiah\b", re.IGNORECASE)


def _rupiah(m: re.Match[str]) -> str:
    words = _decimal(m.group("int"), m.group("frac") or "")
    scale = m.groupdict().get("scale")
    if scale:
        words += " " + _SCALE[scale.lower()]
    return words + " rupiah"


# --- times --------------------------------------------------------------------------------
_ZONES = {"WIB": "we i be", "WITA": "wita", "WIT": "we i te"}
_TIME = r"(?P<h{n}>[01]?\d|2[0-4])[.:](?P<m{n}>[0-5]\d)(?!\d|\.\d)"
_TIME_RANGE = re.compile(
    r"(?:\b(?P<cue>pukul|jam)\s+)?\b" + _TIME.format(n=1)
    + r"(?:\s*(?:-|–|—|s\.?/?d\.?|sampai(?:\s+dengan)?|hingga)\s*(?:pukul\s+)?" + _TIME.format(n=2) + r")?"
    + r"(?:\s*(?P<zone>WIB|WITA|WIT)\b)?",
    re.IGNORECASE,
)
_HOUR_CUE = re.compile(r"\b(?P<cue>pukul|jam)\s+(?P<h>[01]?\d|2[0-4])\b(?![.:,]\d)", re.IGNORECASE)


def _clock(hours: str, minutes: str) -> str:
    words = "pukul " + say_number(int(hours))
    if int(minutes):
        words += " lewat " + say_number(int(minutes)) + " menit"
    return words


def _time_range(m: re.Match[str]) -> str:
    words = _clock(m.group("h1"), m.group("m1"))
    if m.group("h2"):
        words += " sampai " + _clock(m.group("h2"), m.group("m2"))
    if m.group("zone"):
        words += " " + _ZONES[m.group("zone").upper()]
    return words


# --- dates --------------------------------------------------------------------------------
_DATE_NUMERIC = re.compile(r"\b(?P<d>[0-3]?\d)(?P<sep>[/\-.])(?P<m>[01]?\d)(?P=sep)(?P<y>\d{4}|\d{2})\b")
_DATE_ISO = re.compile(r"\b(?P<y>\d{4})-(?P<m>[01]\d)-(?P<d>[0-3]\d)\b")
_DATE_NAMED = re.compile(
    r"\b(?P<d>[0-3]?\d)\s+(?P<m>" + "|".join(MONTHS) + r"|Agu?s|Okt|Des|Jan|Feb|Mar|Apr|Jun|Jul|Sep|Nov)\.?"
    r"(?:\s+(?P<y>\d{4}))?\b",
    re.IGNORECASE,
)


def _month_name(text: str) -> str | None:
    for name in MONTHS:
        if name.lower().startswith(text.lower()[:3]):
            return name
    return None


def _date_numeric(m: re.Match[str]) -> str:
    """dd/mm/yyyy, dd-mm-yy, dd.mm.yyyy and ISO yyyy-mm-dd."""
    day, month, year = int(m.group("d")), int(m.group("m")), m.group("y")
    if not (1 <= day <= 31 and 1 <= month <= 12):
        return m.group(0)
    if len(year) == 2:
        year = "20" + year
    return f"{say_number(day)} {MONTHS[month - 1]} {say_number(int(year))}"


def _date_named(m: re.Match[str]) -> str:
    day = int(m.group("d"))
    month = _month_name(m.group("m"))
    if not 1 <= day <= 31 or month is None:
        return m.group(0)
    words = f"{say_number(day)} {month}"
    if m.group("y"):
        words += " " + say_number(int(m.group("y")))
    return words


# --- identifiers read digit by digit -------------------------------------------------------
_NIK = re.compile(r"(?<![\d.])\d{16}(?![\d.])|(?<![\d.])\d{4}(?:[ .-]\d{4}){3}(?![\d.])")
_PHONE = re.compile(r"(?<![\w+])(?:\+62|62|0)[\s-]?8\d{1,3}(?:[\s-]?\d{2,4}){1,3}(?![\d])")
_LANDLINE = re.compile(r"(?<![\w+])(?:\+62|0)\(?\d{2,3}\)?[\s-]\d{3,4}[\s-]?\d{3,4}(?!\d)")
_CUED_DIGITS = re.compile(
    r"\b(?P<cue>(?:" + _DIGIT_CUES + r")(?:\s+(?:anda|saudara|bapak|ibu|adalah|yaitu|ialah|ke|di))*)"
    r"(?P<sep>\s*:?\s*)(?P<num>\+?\d(?:[\d-]|\s(?=\d))*\d|\d)(?![\d.,]\d)",
    re.IGNORECASE,
)
# Three or more dash-joined digit groups that are not a date (dates are read before this):
# "2611-00042-7" -> "dua enam satu satu, nol nol nol empat dua, tujuh".
_DIGIT_GROUPS = re.compile(r"(?<![\w+.,-])\d+(?:-\d+){2,}(?![\w-]|[.,]\d)")
_SERVICE_NUMBERS = re.compile(r"(?<![\d.,])(?:112|110|113|115|119|129|165|171|1500\d{3}|1708)(?!\d|[.,]\d)")
_ALNUM_ID = re.compile(r"\b(?=[A-Za-z0-9-]*\d)(?=[A-Za-z0-9-]*[A-Za-z])[A-Za-z0-9]+(?:-[A-Za-z0-9]+)+\b|"
                       r"\b(?=[A-Z0-9]*\d)(?=[A-Z0-9]*[A-Z])[A-Z0-9]{3,}\b")


def _phone(text: str) -> str:
    """Phone number digit by digit, grouped as written (or by four)."""
    text = text.strip()
    prefix = ""
    if text.startswith("+62"):
        prefix, text = "plus enam dua, ", text[3:]
    groups = [g for g in re.split(r"[\s()-]+", text) if g]
    if len(groups) == 1:
        n = len(groups[0])
        return prefix + say_digits(groups[0], group=0 if n <= 5 else 3 if n == 6 else 4)
    return prefix + ", ".join(say_digits(g) for g in groups)


def _cued(m: re.Match[str]) -> str:
    num = m.group("num")
    sep = m.group("sep").strip()
    return f"{m.group('cue')}{sep} {_phone(num)}"


def _digit_groups(m: re.Match[str]) -> str:
    return ", ".join(say_digits(g, group=4 if len(g) > 5 else 0) for g in m.group(0).split("-"))


def _alnum_id(m: re.Match[str]) -> str:
    parts = m.group(0).split("-")
    spoken = []
    for part in parts:
        if part.isdigit():
            spoken.append(say_digits(part, group=4 if len(part) > 5 else 0))
        else:
            spoken.append(spell(part))
    return ", ".join(spoken)


# --- abbreviations --------------------------------------------------------------------------
_ABBR_KEYS = sorted(ABBREVIATIONS, key=len, reverse=True)
_ABBR = re.compile(
    r"(?<![\w-])(?:" + "|".join(re.escape(k) for k in _ABBR_KEYS) + r")(?![\w-])"
    r"|(?<=\s)[#*](?=\s|$|[.,;:!?])|(?<=^)[#*](?=\s|$)"
)
_RT_RW = re.compile(r"\b(?P<k>RT|RW)\.?\s*(?P<n>\d{1,3})\b(?:\s*/\s*(?:RW\.?\s*)?(?P<n2>\d{1,3})\b)?")
_CONSONANTS = re.compile(r"(?<![\w-])[B-DF-HJ-NP-TV-Z]{2,6}(?![\w-])")
_KEY = re.compile(r"\b(?P<verb>tekan|pencet|ketik|pilih|tombol)\s+(?P<key>[0-9#*])(?=[\s.,;:!?]|$)", re.IGNORECASE)
_KEY_NAMES = {"#": "tanda pagar", "*": "tanda bintang"}


def _rt_rw(m: re.Match[str]) -> str:
    first = ABBREVIATIONS[m.group("k")] + " " + say_number(int(m.group("n")))
    if m.group("n2"):
        return first + ", er we " + say_number(int(m.group("n2")))
    return first


# --- plain numbers ----------------------------------------------------------------------
_ORDINAL = re.compile(r"\bke-(?P<n>\d+)\b", re.IGNORECASE)
_PERCENT = re.compile(r"(?P<n>\d+(?:,\d+)?)\s?%")
_DECIMAL = re.compile(r"(?<![\d.])(?P<int>" + _NUMBER + r"),(?P<frac>\d+)(?![\d])")
_PLAIN = re.compile(r"(?<![\d])(?P<int>\d{1,3}(?:\.\d{3})+(?![\d])|\d+)")


def _ordinal(m: re.Match[str]) -> str:
    n = int(m.group("n"))
    return "pertama" if n == 1 else "ke" + say_number(n)


def _percent(m: re.Match[str]) -> str:
    integer, _, frac = m.group("n").partition(",")
    return _decimal(integer, frac) + " persen"


def _plain(m: re.Match[str]) -> str:
    digits = m.group("int")
    if digits.startswith("0") and len(digits) > 1:
        return say_digits(digits)  # "007" is said digit by digit
    if len(digits.replace(".", "")) > 15:
        return say_digits(digits, group=4)
    return say_number(_amount(digits))


def prepare_text(text: str) -> str:
    """Turn written Indonesian into what should be spoken. Pure function; see module doc."""
    if not isinstance(text, str):
        raise TypeError(f"text must be str, got {type(text).__name__}")
    text = unicodedata.normalize("NFKC", text)
    text = text.replace("[", "(").replace("]", ")")  # never let markup reach an engine
    text = _WS.sub(" ", text).strip()
    if not text:
        return ""
    text = _RUPIAH.sub(_rupiah, text)
    text = _RUPIAH_WORD.sub(_rupiah, text)
    text = _DATE_ISO.sub(_date_numeric, text)
    text = _DATE_NUMERIC.sub(_date_numeric, text)
    text = _DATE_NAMED.sub(_date_named, text)
    text = _TIME_RANGE.sub(_time_range, text)
    text = _HOUR_CUE.sub(lambda m: "pukul " + say_number(int(m.group("h"))), text)
    text = _NIK.sub(lambda m: say_digits(m.group(0), group=4), text)
    text = _DIGIT_GROUPS.sub(_digit_groups, text)
    text = _CUED_DIGITS.sub(_cued, text)
    text = _PHONE.sub(lambda m: _phone(m.group(0)), text)
    text = _LANDLINE.sub(lambda m: _phone(m.group(0)), text)
    text = _SERVICE_NUMBERS.sub(lambda m: say_digits(m.group(0)), text)
    text = _KEY.sub(lambda m: f"{m.group('verb')} {_KEY_NAMES.get(m.group('key')) or DIGITS[int(m.group('key'))]}", text)
    text = _RT_RW.sub(_rt_rw, text)
    text = _ABBR.sub(lambda m: ABBREVIATIONS[m.group(0)], text)
    text = _ORDINAL.sub(_ordinal, text)
    text = _ALNUM_ID.sub(_alnum_id, text)
    text = _CONSONANTS.sub(lambda m: spell(m.group(0)), text)
    text = _PERCENT.sub(_percent, text)
    text = _DECIMAL.sub(lambda m: _decimal(m.group("int"), m.group("frac")), text)
    text = _PLAIN.sub(_plain, text)
    text = text.replace("%", " persen").replace("&", " dan ").replace("/", " atau ")
    return _WS.sub(" ", text).strip()
