"""Checking a script version: does its YAML load (every problem with its line), and do its test
cases pass (each case with the step that broke). What :mod:`ivr.storage.scripts` stores with a
version and what gates a publish.

Messages come from the dialog loader in English (for developers and the CLI); the admin pages
show them in Indonesian through :func:`indonesian` (a table of the loader's phrasings, the
English kept in ``detail`` when a message has no translation).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from dialogs import Script, ScriptError, load_script
from dialogs.errors import ScriptIssue
from dialogs.loader import check_script
from dialogs.templates import variables_in
from dialogs.testcases import parse_cases, run_cases
from dialogs.yaml_source import parse_yaml
from ivr.privacy.call_values import personal_kinds
from ivr.privacy.fields import is_personal_field


@dataclass(frozen=True)
class Checked:
    """A version's validation and test results (JSON-ready dicts) and, if it loaded, its script."""

    validation: dict[str, Any]
    tests: dict[str, Any]
    script: Script | None

    @property
    def publishable(self) -> bool:
        return bool(self.validation.get("ok")) and bool(self.tests.get("ok"))

    def reasons(self) -> list[str]:
        """Why the version cannot be published (Indonesian), empty when it can."""
        out: list[str] = []
        if not self.validation.get("ok"):
            n = len(self.validation.get("issues", []))
            out.append(f"Skrip belum valid: {n} kesalahan.")
        if self.validation.get("ok") and not self.tests.get("ok"):
            if not self.tests.get("cases"):
                out.append(self.tests.get("error") or "Versi ini belum punya kasus uji.")
            else:
                failed = [c["name"] for c in self.tests["cases"] if not c["passed"]]
                out.append(f"{len(failed)} kasus uji gagal: " + ", ".join(failed[:5]))
        return out


def content_hash(yaml_text: str, tests_text: str | None) -> str:
    h = hashlib.sha256(yaml_text.encode("utf-8"))
    h.update(b"\0")
    h.update((tests_text or "").encode("utf-8"))
    return h.hexdigest()


def _issue(i: ScriptIssue) -> dict[str, Any]:
    return {"line": i.line, "path": i.path, "message": indonesian(i.message), "detail": i.message}


def validate(yaml_text: str, name: str = "script.yaml") -> tuple[dict[str, Any], Script | None]:
    """Load ``yaml_text``: ``({"ok", "issues": [{line, path, message, detail}], "warnings",
    "info"}, script or None)``. Never raises for bad input."""
    try:
        script = load_script(name, text=yaml_text)
    except ScriptError as exc:
        return {"ok": False, "issues": [_issue(i) for i in exc.issues], "warnings": [], "info": {}}, None
    except RecursionError:
        return {"ok": False, "issues": [{"line": None, "path": "", "message": "Skrip terlalu dalam bersarang.",
                                         "detail": "nesting too deep"}], "warnings": [], "info": {}}, None
    except Exception as exc:  # a bug in the loader must not take the page down
        return {"ok": False, "issues": [{"line": None, "path": "", "detail": f"{type(exc).__name__}: {exc}",
                                         "message": "Skrip tidak dapat dibaca."}], "warnings": [], "info": {}}, None
    info = {"name": script.name, "states": len(script.states), "intents": len(script.intents)}
    warnings = [_issue(w) for w in script.warnings] + privacy_warnings(script, yaml_text)
    return {"ok": True, "issues": [], "warnings": warnings, "info": info}, script


def privacy_warnings(script: Script, yaml_text: str) -> list[dict[str, Any]]:
    """A ticket field or a variable whose template copies a personal slot (``keterangan:
    "Alamat {alamat_rumah}"``) into a name that does not say it is personal: the runtime hides
    the copied value in its masked copies all the same (:mod:`ivr.privacy.call_values`), but the
    admin is told (``privacy: True``), in Indonesian, so that the name says what the field holds
    or the copy goes. A ticket's ``category`` is stored as it is (the analytics group by it):
    personal data there is not hidden at all, and the warning says so."""
    kinds = personal_kinds(script)
    lines = parse_yaml(yaml_text).lines
    out: list[dict[str, Any]] = []

    def check(path: tuple[str, ...], key: str, template: str, what: str) -> None:
        copied = list(dict.fromkeys(v for v, _ in variables_in(template) if v in kinds or is_personal_field(v)))
        if not copied or is_personal_field(key):
            return
        names = ", ".join("{" + v + "}" for v in copied)
        if what == "field" and key == "category":
            message = (f"Kategori tiket memuat data pribadi ({names}). Kategori disimpan apa adanya untuk "
                       "analitik dan tidak disamarkan, jadi jangan isi kategori dengan data pribadi.")
        else:
            thing = f"Isian tiket '{key}'" if what == "field" else f"Variabel '{key}'"
            message = (f"{thing} memuat data pribadi ({names}), padahal namanya tidak menunjukkan data pribadi. "
                       "Nilai tersebut tetap disamarkan di tiket, ekspor, transkrip, dan log. Agar jelas bagi "
                       "petugas, beri nama yang menunjukkan isinya (misalnya memakai kata 'nama' atau 'alamat'), "
                       "atau jangan salin data pribadi bila tidak diperlukan.")
        out.append({"line": lines.line(path), "path": ".".join(path), "message": message, "privacy": True,
                    "detail": f"{'.'.join(path)} copies personal data ({names}) into a field not named personal"})

    for sid, st in script.states.items():
        for name, template in st.set.items():
            check(("states", sid, "set", name), name, template, "variable")
        if st.create_ticket is not None:
            for key, template in st.create_ticket.fields.items():
                check(("states", sid, "create_ticket", "fields", key), key, template, "field")
    return out


def run_tests(script: Script | None, tests_text: str | None) -> dict[str, Any]:
    """Run the version's test cases: ``{"ok", "cases": [{name, passed, failures, steps,
    broke_at}], "error"}`` (``broke_at``: the 1-based step of the first failure)."""
    if script is None:
        return {"ok": False, "cases": [], "error": "Skrip belum valid, kasus uji tidak dijalankan."}
    if not tests_text or not tests_text.strip():
        return {"ok": False, "cases": [], "error": "Versi ini belum punya kasus uji."}
    try:
        cases = parse_cases("tests.yaml", tests_text)
    except ScriptError as exc:
        issues = "; ".join(str(i) for i in exc.issues[:5])
        return {"ok": False, "cases": [], "error": f"Berkas kasus uji tidak valid: {issues}"}
    try:
        results = run_cases(script, cases)
    except Exception as exc:  # a runner bug: the version is not publishable, the page stays up
        return {"ok": False, "cases": [], "error": f"Kasus uji tidak dapat dijalankan: {type(exc).__name__}"}
    out = []
    for r in results:
        broke = None
        if r.failures:
            m = re.match(r"step (\d+):", r.failures[0])
            broke = int(m.group(1)) if m else None
        out.append({"name": r.name, "passed": r.passed, "failures": list(r.failures), "steps": r.steps,
                    "broke_at": broke})
    return {"ok": bool(out) and all(c["passed"] for c in out), "cases": out, "error": None}


def quick_validate(yaml_text: str, name: str = "script.yaml") -> dict[str, Any]:
    """The same verdict and issues as :func:`validate`, without building the script (for the
    editor as the admin types)."""
    try:
        issues, warnings = check_script(name, yaml_text)
    except RecursionError:
        return {"ok": False, "issues": [{"line": None, "path": "", "message": "Skrip terlalu dalam bersarang.",
                                         "detail": "nesting too deep"}], "warnings": []}
    except Exception as exc:
        return {"ok": False, "issues": [{"line": None, "path": "", "detail": f"{type(exc).__name__}: {exc}",
                                         "message": "Skrip tidak dapat dibaca."}], "warnings": []}
    return {"ok": not issues, "issues": [_issue(i) for i in issues], "warnings": [_issue(w) for w in warnings]}


def check(yaml_text: str, tests_text: str | None, name: str = "script.yaml") -> Checked:
    """Validate, then run the test cases (blocking: call it on a worker thread)."""
    validation, script = validate(yaml_text, name)
    return Checked(validation, run_tests(script, tests_text), script)


# --------------------------------------------------------------------------- Indonesian

_Q = r"'([^']*)'"
_TRANSLATIONS: list[tuple[re.Pattern[str], str]] = [(re.compile(p), t) for p, t in [
    (r"^YAML syntax error: (.*)$", "Kesalahan penulisan YAML ({0})."),
    (r"^YAML error: (.*)$", "Kesalahan YAML ({0})."),
    (r"^duplicate key$", "Kunci ini ditulis dua kali."),
    (r"^the file is empty$", "Skrip masih kosong."),
    (r"^the file is ([\d,]+) bytes; a script has at most ([\d,]+)$",
     "Skrip terlalu besar ({0} bita; paling banyak {1})."),
    (r"^with its aliases .*$", "Alias (*nama) membuat dokumen terlalu besar: alias boleh mengulang blok, "
                               "bukan melipatgandakannya."),
    (r"^a script is a mapping with version, name, start and states$",
     "Skrip harus berupa pemetaan dengan version, name, start, dan states."),
    (rf"^unknown key {_Q}$", "Kunci '{0}' tidak dikenal."),
    (rf"^transition to unknown state {_Q}$", "Pindah ke state '{0}' yang tidak ada."),
    (rf"^start state {_Q} is not defined$", "State awal '{0}' tidak ada."),
    (rf"^global {_Q} is not a defined intent$", "Perintah global '{0}' bukan intent yang ada."),
    (r"^two global intents use the same key$", "Dua perintah global memakai tombol yang sama."),
    (r"^confirm threshold must not exceed accept$", "Ambang konfirmasi tidak boleh melebihi ambang terima."),
    (rf"^state {_Q} can never be reached$", "State '{0}' tidak pernah bisa dicapai."),
    (rf"^entry menu {_Q} is not a state$", "Menu awal '{0}' bukan state."),
    (rf"^entry menu {_Q} must listen .*$", "Menu awal '{0}' harus mendengarkan dengan jenis intent atau choice."),
    (r"^a menu must listen with kind intent or choice$", "Menu harus mendengarkan dengan jenis intent atau choice."),
    (rf"^unknown state {_Q}$", "State '{0}' tidak ada."),
    (rf"^state {_Q} is already in flow {_Q}$", "State '{0}' sudah ada di alur '{1}'."),
    (rf"^state {_Q} is listed twice$", "State '{0}' tercantum dua kali."),
    (r"^unknown variable '\{?([^'}]*)\}?'$", "Variabel '{0}' tidak dikenal."),
    (r"^state does nothing.*$", "State ini tidak melakukan apa-apa: beri listen, next, transfer, "
                                "create_ticket, lookup_ticket, branch, atau end."),
    (r"^state has more than one way out: (.*)$", "State ini punya lebih dari satu jalan keluar: {0}."),
    (r"^'on' needs 'listen' in the same state$", "'on' memerlukan 'listen' di state yang sama."),
    (r"^kind intent needs 'intents'$", "Jenis intent memerlukan daftar 'intents'."),
    (rf"^unknown intent {_Q}$", "Intent '{0}' tidak ada."),
    (rf"^intent {_Q} has no transition in 'on'$", "Intent '{0}' belum punya tujuan di 'on'."),
    (rf"^option {_Q} has the name of an intent$", "Pilihan '{0}' bernama sama dengan sebuah intent."),
    (rf"^{_Q} is answered in place and also leads elsewhere$",
     "'{0}' sudah dijawab di tempat (answers), jadi tidak boleh juga menuju ke tempat lain."),
    (r"^'answers' needs a listen of kind intent$", "'answers' memerlukan listen dengan jenis intent."),
    (r"^'carried' needs a listen of kind choice with a slot$",
     "'carried' memerlukan listen dengan jenis choice dan slot."),
    (rf"^option {_Q} has no transition in 'on'$", "Pilihan '{0}' belum punya tujuan di 'on'."),
    (r"^kind choice needs 'options'$", "Jenis choice memerlukan 'options'."),
    (rf"^yes/no state needs a transition for {_Q}$", "State ya/tidak memerlukan tujuan untuk '{0}'."),
    (r"^kind (\w+) needs 'slot'.*$", "Jenis {0} memerlukan 'slot' (variabel penampung nilainya)."),
    (r"^give 'next' or on.filled.*$", "Beri 'next' atau on.filled: ke mana setelah nilainya didapat."),
    (r"^kind digits needs 'length' or 'max_length'$", "Jenis digits memerlukan 'length' atau 'max_length'."),
    (r"^'intents'/'options' do not apply to kind (\w+)$", "'intents'/'options' tidak berlaku untuk jenis {0}."),
    (r"^min_length is greater than max_length$", "min_length lebih besar dari max_length."),
    (rf"^key (\S+) leads to {_Q}, which has no transition in 'on'$",
     "Tombol {0} menuju '{1}', yang belum punya tujuan di 'on'."),
    (rf"^{_Q} can never happen in this state$", "'{0}' tidak mungkin terjadi di state ini."),
    (r"^loop that never waits for the caller: (.*)$", "Putaran yang tidak pernah menunggu penelepon: {0}."),
    (r"^give exactly one of (.*)$", "Beri tepat satu dari {0}."),
    (r"^(.*) is not a valid name .*$", "{0} bukan nama yang sah (huruf kecil, angka, _)."),
    (rf"^{_Q} is required$", "'{0}' wajib diisi."),
    (r"^(.*) is not of type '(\w+)'$", "{0} bukan {1}."),
    (r"^(.*) is not of type '(\w+)', '(\w+)'$", "{0} bukan {1} atau {2}."),
    (rf"^example {_Q} is already under topic {_Q}$",
     "Contoh '{0}' sudah tercantum di topik '{1}': satu contoh hanya untuk satu topik."),
    (r"^a referral takes no variables or braces$",
     "Kalimat rujukan tidak boleh memakai variabel atau tanda kurung kurawal: kalimatnya sama untuk "
     "setiap penelepon."),
    (r"^a referral has at most (\d+) characters, not (\d+)$",
     "Kalimat rujukan terlalu panjang ({1} huruf; paling banyak {0}): cukup satu kalimat singkat, "
     "misalnya ke kantor mana penelepon harus datang."),
    (r"^a referral need not name 112 .*$",
     "Kalimat rujukan tidak perlu menyebut 112: kalimat sebelumnya sudah menyebutnya."),
    (r"^(.*) is not one of (.*)$", "{0} bukan salah satu dari {1}."),
    (r"^(.*) is too long$", "{0} terlalu panjang."),
    (r"^(.*) is too short$", "{0} terlalu pendek."),
    (r"^(.*) should be non-empty$", "{0} tidak boleh kosong."),
    (r"^(.*) is less than the minimum of (.*)$", "{0} kurang dari batas bawah {1}."),
    (r"^(.*) is greater than the maximum of (.*)$", "{0} melebihi batas atas {1}."),
]]
_TYPES = {"string": "teks", "object": "pemetaan", "array": "daftar", "integer": "bilangan bulat",
          "number": "angka", "boolean": "ya/tidak (true/false)"}


def indonesian(message: str) -> str:
    """The loader's English message in Indonesian (for admins); unknown ones say so and keep
    the English after a colon."""
    for pattern, template in _TRANSLATIONS:
        m = pattern.match(message)
        if m:
            groups = [_TYPES.get(g, g) for g in m.groups()]
            return template.format(*groups)
    return f"Periksa bagian ini: {message}"
