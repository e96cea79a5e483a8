"""Indonesian labels for the codes the hotline stores (ticket status and kind, call end reasons,
hand-off reasons and outcomes, callback attempt outcomes, roles, audit actions): what staff read, never a raw
``caller_hangup``. Here, beside the codes, so that every part that shows them (the web pages,
the desk's screen pop) reads the same words.

Templates use the ``label`` filter: ``{{ call.end_reason | label("end_reason") }}``. A code with
no label yet reads as words (``"new_code"`` -> ``"new code"``) rather than breaking the page.
"""

from __future__ import annotations

__all__ = ["STATUS_LABELS", "KIND_LABELS", "OUTCOME_LABELS", "ATTEMPT_OUTCOME_LABELS", "ROLE_LABELS", "END_REASON_LABELS",
           "HANDOFF_REASON_LABELS", "AUDIT_ACTION_LABELS", "QUEUE_FIELD_LABELS", "SUBJECT_LABELS", "GROUPS", "label"]

STATUS_LABELS = {
    "open": "Baru",
    "in_progress": "Diproses",
    "resolved": "Selesai",
    "closed": "Ditutup",
    "rejected": "Ditolak",
}
KIND_LABELS = {"complaint": "Pengaduan", "callback": "Minta ditelepon"}
OUTCOME_LABELS = {
    "pending": "Menunggu",
    "connected": "Tersambung",
    "abandoned": "Penelepon menutup",
    "no_agents": "Tidak ada petugas",
    "closed_hours": "Di luar jam layanan",
    "failed": "Gagal",
}
#: what came of a "call back now" (``callback_attempts.outcome``, :data:`ivr.storage.desk.ATTEMPT_OUTCOMES`)
ATTEMPT_OUTCOME_LABELS = {
    "dialling": "Sedang menelepon",
    "answered": "Terjawab",
    "no_answer": "Tidak diangkat",
    "busy": "Sibuk",
    "failed": "Gagal tersambung",
    "invalid": "Nomor tidak dapat ditelepon",
    "closed_hours": "Di luar jam layanan",
}
ROLE_LABELS = {"admin": "Admin", "supervisor": "Supervisor", "agent": "Petugas"}
END_REASON_LABELS = {
    "completed": "Selesai",
    "caller_hangup": "Penelepon menutup telepon",
    "transferred": "Dialihkan ke petugas",
    "shutdown": "Layanan dihentikan",
    "error": "Gangguan sistem",
    "error_transferred": "Gangguan, dialihkan ke petugas",
    "emergency": "Darurat",
    "timeout": "Tidak ada jawaban",
    "no_input": "Penelepon tidak menjawab",
    "interrupted": "Terputus",
}
HANDOFF_REASON_LABELS = {
    "caller_request": "Penelepon meminta petugas",
    "caller_asked": "Penelepon meminta petugas",
    "not_understood": "Sistem belum memahami",
    "engine_error": "Gangguan sistem",
    "error": "Gangguan sistem",
    "loop": "Percakapan berulang",
    "transfer_failed": "Pengalihan gagal",
    "no_agents": "Tidak ada petugas",
    "closed_hours": "Di luar jam layanan",
    "script": "Sesuai alur skrip",
    "emergency": "Darurat",
    # the dialog gave up after its retries (dialogs.engine: f"{kind}_limit")
    "no_match_limit": "Sistem belum memahami",
    "invalid_limit": "Jawaban penelepon tidak sesuai",
    "no_input_limit": "Penelepon tidak menjawab",
}
AUDIT_ACTION_LABELS = {
    "login": "Masuk",
    "login_failed": "Gagal masuk",
    "login_blocked": "Masuk ditahan (terlalu banyak percobaan)",
    "logout": "Keluar",
    "logout_everywhere": "Keluar dari semua perangkat",
    "api_token_failed": "Token API salah",
    "create_first_admin": "Membuat admin pertama",
    "setup_failed": "Penyiapan gagal",
    "create_account": "Membuat akun",
    "disable_account": "Menonaktifkan akun",
    "enable_account": "Mengaktifkan akun",
    "reset_password": "Mengatur ulang kata sandi",
    "change_password": "Mengganti kata sandi",
    "change_role": "Mengganti peran",
    "create_api_token": "Membuat token API",
    "revoke_api_token": "Mencabut token API",
    "list_tickets": "Melihat daftar tiket",
    "search_tickets": "Mencari tiket",
    "view_ticket": "Melihat tiket",
    "update_ticket": "Mengubah status tiket",
    "list_calls": "Melihat daftar panggilan",
    "view_call": "Melihat panggilan",
}
QUEUE_FIELD_LABELS = {
    "waiting": "menunggu",
    "agents_logged_in": "petugas masuk",
    "agents_available": "petugas siap",
    "agents_busy": "petugas sibuk",
    "longest_wait_s": "tunggu terlama (detik)",
    "calls_completed": "selesai",
    "calls_abandoned": "ditinggal",
}
SUBJECT_LABELS = {"ticket": "Tiket", "call": "Panggilan", "staff": "Akun petugas"}

GROUPS: dict[str, dict[str, str]] = {
    "status": STATUS_LABELS,
    "kind": KIND_LABELS,
    "outcome": OUTCOME_LABELS,
    "attempt_outcome": ATTEMPT_OUTCOME_LABELS,
    "role": ROLE_LABELS,
    "end_reason": END_REASON_LABELS,
    "handoff_reason": HANDOFF_REASON_LABELS,
    "audit_action": AUDIT_ACTION_LABELS,
    "subject": SUBJECT_LABELS,
    "queue_field": QUEUE_FIELD_LABELS,
}


def label(code: object, group: str, empty: str = "-") -> str:
    """The Indonesian label of ``code`` in ``group`` (see :data:`GROUPS`)."""
    if code is None or code == "":
        return empty
    text = str(code)
    return GROUPS[group].get(text) or text.replace("_", " ")
