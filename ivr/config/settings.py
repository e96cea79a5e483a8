"""Settings for the hotline: one object, from the environment (``IVR_`` prefix) and an
optional TOML or YAML config file.

Precedence, highest first: keyword arguments given to :func:`load_settings` (the CLI's
options), environment variables (``IVR_WEB_PORT=8081``), the config file (``IVR_CONFIG_FILE``
or ``--config``), the defaults below.

Secrets (``IVR_PII_KEY``, ``IVR_ADMIN_TOKEN``, ``IVR_AGENT_TOKEN``, the password inside
``IVR_AMI_URL``) are read from the environment only; a config file that contains one is
rejected, so a secret never ends up in a file that might be committed.

Paths left unset are derived from ``data_dir`` (default ``./var``, relative to the working
directory at start, made absolute when loaded): the SQLite database, prompt cache, sounds, recordings, outbox journal
and Whisper cache all live there, so one directory holds everything the hotline writes.
"""

from __future__ import annotations

import contextvars
import os
import re
import tomllib
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal, TypedDict
from urllib.parse import unquote, urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict

from ivr.config.calendar import CalendarError, OfficeHours, national_holidays

__all__ = [
    "Settings",
    "SettingsError",
    "load_settings",
    "AmiConfig",
    "SECRET_FIELDS",
]

ENV_PREFIX = "IVR_"
CONFIG_FILE_ENV = "IVR_CONFIG_FILE"
#: fields that may only come from the environment (or explicit keyword arguments)
SECRET_FIELDS = frozenset({"pii_key", "admin_token", "agent_token", "oidc_client_secret", "metrics_token"})

_config_file_var: contextvars.ContextVar[Path | None] = contextvars.ContextVar(
    "ivr_config_file", default=None
)


class SettingsError(ValueError):
    """A setting or the config file is invalid; the message names the setting."""


# --------------------------------------------------------------------------- AMI URL


@dataclass(frozen=True)
class AmiConfig:
    host: str
    port: int
    username: str
    secret: str = ""

    def __repr__(self) -> str:  # never show the secret
        return f"AmiConfig(host={self.host!r}, port={self.port}, username={self.username!r}, secret='***')"


def parse_ami_url(url: str) -> AmiConfig:
    """``ami://user:secret@host:port`` -> :class:`AmiConfig` (port defaults to 5038)."""
    parts = urlsplit(url)
    if parts.scheme != "ami":
        raise SettingsError("ami_url must look like ami://user:secret@127.0.0.1:5038")
    if not parts.hostname or not parts.username:
        raise SettingsError("ami_url needs a user and a host: ami://user:secret@host:5038")
    try:
        port = parts.port or 5038
    except ValueError:
        raise SettingsError("ami_url has an invalid port") from None
    return AmiConfig(parts.hostname, port, unquote(parts.username), unquote(parts.password or ""))


# --------------------------------------------------------------------------- config file


def _read_config_file(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise SettingsError(f"config file not found: {path}")
    suffix = path.suffix.lower()
    raw = path.read_bytes()
    try:
        if suffix == ".toml":
            data = tomllib.loads(raw.decode("utf-8"))
        elif suffix in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(raw) or {}
        else:
            raise SettingsError(f"config file must be .toml, .yaml or .yml: {path}")
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SettingsError(f"config file {path}: {exc}") from None
    except Exception as exc:  # yaml.YAMLError without importing yaml at module load
        if type(exc).__module__.startswith("yaml"):
            raise SettingsError(f"config file {path}: {exc}") from None
        raise
    if not isinstance(data, dict):
        raise SettingsError(f"config file {path}: top level must be a table/mapping")
    # allow everything under an [ivr] table, or flat
    if set(data) == {"ivr"} and isinstance(data["ivr"], dict):
        data = data["ivr"]
    data = {str(k).lower().replace("-", "_"): v for k, v in data.items()}
    secrets = sorted(SECRET_FIELDS & set(data))
    if secrets:
        raise SettingsError(
            f"config file {path}: {', '.join(secrets)} must come from the environment "
            f"({', '.join(ENV_PREFIX + s.upper() for s in secrets)}), not a file"
        )
    ami = data.get("ami_url")
    if isinstance(ami, str) and urlsplit(ami).password:
        raise SettingsError(
            f"config file {path}: ami_url contains a password; set IVR_AMI_URL in the environment"
        )
    unknown = sorted(set(data) - set(Settings.model_fields))
    if unknown:
        raise SettingsError(f"config file {path}: unknown setting(s): {', '.join(unknown)}")
    return data


class _ConfigFileSource(PydanticBaseSettingsSource):
    def __init__(self, settings_cls: type[BaseSettings]):
        super().__init__(settings_cls)
        path = _config_file_var.get()
        if path is None and os.environ.get(CONFIG_FILE_ENV):
            path = Path(os.environ[CONFIG_FILE_ENV])
        self.path = path
        self.data = _read_config_file(path) if path is not None else {}

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:  # pragma: no cover
        return self.data.get(field_name), field_name, False  # unused: __call__ gives every value

    def __call__(self) -> dict[str, Any]:
        return dict(self.data)


# --------------------------------------------------------------------------- settings

Role = Literal["admin", "supervisor", "agent"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


class RecognizerOptions(TypedDict):
    """Keyword arguments of ``asr.create_recognizer`` that come from the settings."""

    workers: int | None
    threads: int | None
    whisper_scoring: str
    whisper_beam_size: int
    whisper_compute_type: str
    whisper_scorer: str
    whisper_text_beam_size: int
    whisper_text_decoder: str
    whisper_views: tuple[float, ...]
    whisper_prune_labels: int
    whisper_view_phrases: int
    whisper_pack_phrases: int
    whisper_audio_intent: bool
    whisper_audio_emergency: bool
    whisper_wide_encoder: bool


PRUNE_LABELS = 0  # whisper_prune_labels' default: off (on dev it cost an emergency caller 112 first; docs phase 7 prune)
PACK_PHRASES = 8  # whisper_pack_phrases' default: on (-18% CPU of the phrase stages; docs phase 13 avx2)
VIEW_PHRASES = 0  # whisper_view_phrases' default: off (-15% CPU a menu turn; held out mixed: docs phase 7 prune, lead)


class Settings(BaseSettings):
    """Every port, path, model, engine and credential of the hotline. See README."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        extra="forbid",
        validate_default=True,
        case_sensitive=False,
    )

    # -- where things live
    data_dir: Path = Field(Path("var"), description="Everything the hotline writes lives here.")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL; default sqlite:///<data_dir>/ivr.sqlite3. "
        "PostgreSQL: postgresql://user@host:5432/db"
    )
    config_file: Path | None = Field(None, description="TOML or YAML file with any settings below except secrets")

    # -- telephony (services bind 127.0.0.1 by default)
    agi_host: str = Field("127.0.0.1", description="FastAGI server address (Asterisk connects here)")
    agi_port: int = Field(4573, ge=0, le=65535, description="FastAGI port; 0 = any free port")
    audiosocket_host: str = Field("127.0.0.1", description="AudioSocket server address")
    audiosocket_port: int = Field(9092, ge=0, le=65535, description="AudioSocket port; 0 = any free port")
    audiosocket_advertise: str | None = Field(
        None, description="host:port Asterisk connects to for AudioSocket; "
        "None = audiosocket_host and the bound port"
    )
    ami_url: SecretStr | None = Field(None, description="ami://user:secret@127.0.0.1:5038 (optional)")
    media_mode: Literal["audiosocket", "agi"] = Field(
        "audiosocket", description="audiosocket (default) or agi (STREAM FILE / RECORD FILE, older Asterisk)")

    # -- web
    web_host: str = Field("127.0.0.1", description="web app (health, status, staff pages) address")
    web_port: int = Field(8080, ge=0, le=65535, description="web app port")
    admin_token: SecretStr | None = Field(None, description="RETIRED (ignored, warns at start): staff log in "
                                          "with personal accounts, `ivr users add` (docs/web.md)")
    agent_token: SecretStr | None = Field(None, description="RETIRED (ignored, warns at start): see admin_token")
    metrics_token: SecretStr | None = Field(
        None, description="bearer token Prometheus sends to /metrics; unset: /metrics answers loopback clients only")
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="addresses of reverse proxies whose X-Forwarded-For names the client (comma-separated); "
                    "empty = the connection's own address is the client's, always")
    session_hours: float = Field(8.0, gt=0, le=24 * 30, description="staff web sessions end after this long")
    oidc_issuer: str | None = Field(None, description="single sign-on: the OpenID Connect issuer URL (e.g. "
                                    "https://sso.example.go.id/realms/pemda); unset = no SSO")
    oidc_client_id: str | None = Field(None, description="single sign-on: this hotline's client id at the issuer")
    oidc_client_secret: SecretStr | None = Field(None, description="single sign-on: the client secret")
    oidc_role_claim: str = Field("roles", description="ID-token claim (a string or a list) that gives the role")
    oidc_role_map: str = Field("admin=admin,supervisor=supervisor,agent=agent",
                               description="claim value=role pairs, comma-separated (e.g. "
                                           "hotline-admin=admin,cc-agent=agent); the highest role found wins")
    oidc_username_claim: str = Field("preferred_username", description="ID-token claim used as the username")
    public_url: str | None = Field(None, description="the web app's address as browsers reach it (e.g. "
                                   "https://hotline.example.go.id/), for the SSO return address; "
                                   "unset = the address of the request")
    reveal_roles: Annotated[list[Role], NoDecode] = Field(
        default_factory=lambda: list[Role](["admin"]),
        description="roles that may see callers' personal data in clear (encrypt mode; audited)",
    )

    # -- dialog
    script: Path | None = Field(None, description="Dialog script; None = the packaged default")

    # -- speech recognition
    asr_engine: Literal["whisper", "vosk"] = Field("whisper", description="speech recognizer")
    whisper_model_dir: Path | None = Field(None, description="None = the packaged Whisper-base")
    whisper_cache_dir: Path | None = Field(None, description="default <data_dir>/models/whisper")
    whisper_compute_type: str = Field("int8", description="CTranslate2 compute type (int8 is fast on CPU)")
    whisper_beam_size: int = Field(5, ge=1, le=10, description="beam size of Whisper's free transcription "
                                   "(states without expected phrases, e.g. a complaint's description)")
    whisper_text_beam_size: int = Field(1, ge=1, le=10, description="beam size of the transcript decoded beside the "
                                        "scoring of a menu's expected phrases (greedy: as accurate on the bench, "
                                        "less CPU); short answers such as yes/no use IVR_WHISPER_BEAM_SIZE")
    whisper_scoring: Literal["auto", "full", "fast"] = Field(
        "auto", description="full: score every expected phrase at once; fast: the first phrases of every label, "
                            "then only the leading labels' (about a third less CPU, less accurate); auto: fast "
                            "while other utterances wait for the CPU, every phrase otherwise")
    whisper_scorer: Literal["int8", "float32"] = Field(
        "int8", description="precision of the expected-phrase scoring: int8 (ONNX Runtime, ~40% of the CPU "
                            "of float32, same accuracy on the bench) or float32 (numpy)")
    whisper_text_decoder: Literal["auto", "int8", "ctranslate2"] = Field(
        "auto", description="engine of the greedy transcript beside a menu's phrase scoring: auto/int8 = the int8 "
                            "scoring graph with a key/value cache (about half the CPU of CTranslate2 on an AVX2 "
                            "CPU), ctranslate2 = CTranslate2's search; beam searches always use CTranslate2")
    whisper_views: Annotated[list[float], NoDecode] = Field(
        default_factory=lambda: [0.9, 1.1],
        description="speeds at which a menu utterance is heard again to average the leading labels' scores "
                    "(comma-separated; empty = off): about a quarter more CPU per utterance, skipped while other "
                    "utterances wait for the CPU")
    whisper_prune_labels: int = Field(
        PRUNE_LABELS, ge=0, le=50,
        description="a menu's phrases after the first stage are scored only for the audio intent classifier's this "
                    "many leading labels, the emergency label (always) and the first stage's leader; 0 = every "
                    "label's (more CPU)")
    whisper_view_phrases: int = Field(
        VIEW_PHRASES, ge=0, le=100,
        description="in the extra hearings, only each leading label's this many best phrases are scored again; "
                    "0 = all its phrases (more CPU)")
    whisper_pack_phrases: int = Field(
        PACK_PHRASES, ge=0, le=64,
        description="phrases scored in one row of an int8 batch as a tree of their shared first tokens (fewer "
                    "positions to compute: a fifth less CPU per menu turn on an AVX2 machine); 0 or 1 = one phrase a "
                    "row")
    whisper_wide_encoder: bool = Field(
        True, description="an utterance decoded while no other is runs its Whisper encoder pass on every core (a "
                          "second copy of the model, about 120 MB more memory; the same output, ~40 ms sooner on "
                          "two cores)")
    whisper_audio_intent: bool = Field(
        True, description="multiply a large menu's intent posteriors by those of a classifier on the utterance's "
                          "Whisper encoder output (asr/audio_intent.npz: a small convolution over its frames, fitted "
                          "on espeak-ng speech of the default script's examples and callers' phrasings; it never "
                          "raises darurat; see docs/understanding.md); about 0.3-1.2 ms per utterance")
    emergency_audio: bool = Field(
        False, description="act at once on a main-menu turn the recognizer left borderline as an emergency when "
                           "the audio itself sounds like one (asr/audio_emergency.npz, fitted on espeak-ng speech; "
                           "see docs/understanding.md phase 5 emerg2 and phase 6 emerg3): more spoken emergencies "
                           "acted on at once, but more false emergencies on the held-out bench, so off by default")
    asr_threads: int = Field(0, ge=0, le=64, description="threads one utterance's decoding may use (0 = CPU cores)")
    asr_workers: int = Field(0, ge=0, le=64, description="utterances decoded at once (0 = CPU cores)")
    vosk_model_dir: Path | None = Field(None, description="Vosk model directory (asr_engine=vosk)")

    # -- speech synthesis
    tts_engine: Literal["espeak", "coqui"] = Field("espeak", description="speech synthesizer")
    tts_voice: str = Field("id", description="voice (espeak-ng voice name)")
    tts_rate: int = Field(165, ge=50, le=450, description="words per minute (espeak)")
    tts_pitch: int = Field(50, ge=0, le=99, description="pitch 0-99 (espeak)")
    coqui_model_path: Path | None = Field(None, description="Coqui TTS model file (tts_engine=coqui)")
    coqui_config_path: Path | None = Field(None, description="Coqui TTS config.json")
    prompt_cache_dir: Path | None = Field(None, description="default <data_dir>/prompts")
    sounds_dir: Path | None = Field(
        None, description="AGI-only mode: directory Asterisk plays from; default <data_dir>/sounds"
    )
    recordings_dir: Path | None = Field(None, description="default <data_dir>/recordings")

    # -- call behaviour defaults (a script's own values win)
    barge_in: bool = Field(True, description="caller speech may interrupt prompts (where the script allows)")
    vad_aggressiveness: int = Field(2, ge=0, le=3, description="webrtcvad aggressiveness 0-3")
    vad_start_ms: int = Field(120, ge=20, le=2000, description="speech this long starts an utterance")
    vad_end_ms: int = Field(600, ge=100, le=5000, description="silence this long ends an utterance")
    turn_taking: bool = Field(True, description="end a turn by what was said (asr.endpointing): a short "
                              "hangover for a complete answer, a long one when the caller is mid-sentence")
    turn_short_ms: int = Field(250, ge=60, le=5000, description="turn taking: silence after a complete answer")
    turn_long_ms: int = Field(1600, ge=100, le=5000, description="turn taking: silence after a request that "
                              "looks cut or brief (the longest a turn waits)")
    turn_unsure_ms: int = Field(1000, ge=60, le=5000, description="turn taking: silence after a complete-looking "
                                "request the recognizer is unsure of")
    turn_prosody: bool = Field(True, description="turn taking: a request or yes/no whose voice did not close "
                               "(the pitch of its last sound level or rising, asr.prosody) waits the unsure wait, "
                               "not the short one")
    turn_second_look_ms: int = Field(0, ge=0, le=2000, description="turn taking: caller speech that resumes "
                                     "within this long after the end-of-turn decision (its onset; the reply not yet "
                                     "on record) is the same turn: the decision is dropped, the reply stopped, and "
                                     "the joined audio decided (0 = off)")
    turn_first_pass: bool = Field(True, description="a menu turn whose first recognition pass is already "
                                  "decisive (accepted or an emergency) is answered from it, without the second "
                                  "stage and the extra hearings (the first pass is about a third of the work); a second stage "
                                  "already accepted with margin skips the extra hearings")
    max_utterance_s: float = Field(15.0, gt=0, le=120, description="longest utterance before it is cut")
    no_input_timeout_s: float = Field(6.0, gt=0, le=120, description="silence before NoInput (script default)")
    dtmf_interdigit_timeout_s: float = Field(3.0, gt=0, le=60, description="pause that ends keypad entry")
    shutdown_grace_s: float = Field(60.0, ge=0, description="how long `ivr serve` waits for live calls")
    script_poll_s: float = Field(0.5, gt=0, le=10, description="how often `ivr serve` looks for a newly "
                                 "published script version in the database")

    # -- reliability (issue #15)
    db_write_deadline_s: float = Field(2.0, gt=0, le=60, description="a database write not done by then "
                                       "goes to the journal instead")
    db_read_deadline_s: float = Field(5.0, gt=0, le=600, description="a database read not done by then "
                                      "fails as unavailable (staff pages)")
    hold_prompt: str = Field("Mohon tunggu sebentar.", description="said to a caller who waits on the "
                             "database (ticket filed or looked up) longer than hold_prompt_after_s")
    hold_prompt_after_s: float = Field(0.8, ge=0, le=10, description="see hold_prompt")
    node_id: int = Field(0, ge=0, le=9, description="this host among the hotline's hosts (0-9): tickets filed "
                         "while the database is down are numbered 9<node>000-9<node>999; give each host its own")

    # -- agents
    agent_queues: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["hotline", "kependudukan", "pajak", "kesehatan", "sosial"],
        description="queues agents answer; the first is the fallback (comma-separated in the environment)"
    )
    office_hours: str = Field(
        "Mon-Fri 08:00-16:00 Asia/Jakarta", description="when agents answer; see OfficeHours"
    )
    public_holidays: Annotated[list[date], NoDecode] = Field(
        default_factory=list,
        description="closed days and non-working days for SLA: 2026-01-01,2026-03-20,...",
    )
    national_holidays: bool = Field(
        True, description="add Indonesia's national holidays and cuti bersama (holidays package) to public_holidays")
    sla_working_days: int = Field(14, ge=1, le=365, description="ticket response deadline in working days")

    # -- desk and wallboard (issue 13)
    redis_url: str | None = Field(
        None, description="redis://127.0.0.1:6379/0: desk events shared by several `ivr serve` processes; "
        "unset: one process, in memory")
    wallboard_wait_alert_s: int = Field(60, ge=5, le=3600, description="wallboard alert: a caller waits longer")
    callback_retry_minutes: int = Field(30, ge=1, le=1440, description="wait before retrying an unanswered callback")
    callback_max_attempts: int = Field(3, ge=1, le=10, description="callback attempts before giving up")

    # -- analytics (scheduled inside `ivr serve`; one process per period when several share a database)
    analytics_scheduler: bool = Field(
        True, description="make the daily and weekly reports (<data_dir>/reports) and check for surges hourly")
    report_hour: int = Field(6, ge=0, le=23, description="local hour from which yesterday's report is made")

    # -- personal data
    pii_mode: Literal["mask", "encrypt"] = Field(
        "mask", description="mask: keep only masked personal data; encrypt: also AES-GCM encrypted (needs IVR_PII_KEY)")
    pii_key: SecretStr | None = Field(
        None, description="urlsafe base64 of 32 bytes (`ivr db keygen`); "
        "(Fernet.generate_key()); required for encrypt mode and for searching by NIK/phone"
    )
    retention_days: int = Field(90, ge=1, le=36500, description="`ivr purge` deletes transcripts and recordings older than this")

    # -- logging
    log_level: LogLevel = Field("INFO", description="DEBUG, INFO, WARNING, ERROR")
    log_format: Literal["json", "text"] = Field("json", description="json: one object per line; text: for a terminal")

    # ------------------------------------------------------------------ validators

    @field_validator("agent_queues", "reveal_roles", "public_holidays", "whisper_views", "trusted_proxies",
                     mode="before")
    @classmethod
    def _split_commas(cls, v: Any) -> Any:
        """List settings come from the environment comma-separated."""
        if isinstance(v, str):
            v = [x.strip() for x in v.split(",") if x.strip()]
        return v

    @field_validator("agent_queues")
    @classmethod
    def _check_queues(cls, v: list[str]) -> list[str]:
        if not v:
            raise ValueError("at least one agent queue is needed")
        for q in v:
            if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", q):
                raise ValueError(f"invalid queue name {q!r}")
        return v

    @field_validator("whisper_views")
    @classmethod
    def _check_views(cls, v: list[float]) -> list[float]:
        for x in v:
            if not 0.5 <= x <= 2.0 or x == 1.0:
                raise ValueError(f"a view's speed must be between 0.5 and 2.0 and not 1.0, got {x}")
        return v

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, v: Any) -> Any:
        return v.upper() if isinstance(v, str) else v

    @field_validator("office_hours")
    @classmethod
    def _check_hours(cls, v: str) -> str:
        try:
            OfficeHours.parse(v)
        except CalendarError as exc:
            raise ValueError(str(exc)) from None
        return v

    @field_validator("ami_url")
    @classmethod
    def _check_ami(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None and v.get_secret_value():
            try:
                parse_ami_url(v.get_secret_value())
            except SettingsError as exc:
                raise ValueError(str(exc)) from None
        elif v is not None:
            return None
        return v

    @field_validator("audiosocket_advertise")
    @classmethod
    def _check_advertise(cls, v: str | None) -> str | None:
        if v is not None:
            host, sep, port = v.rpartition(":")
            if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise ValueError("audiosocket_advertise must be host:port")
        return v

    @field_validator("pii_key")
    @classmethod
    def _check_key(cls, v: SecretStr | None) -> SecretStr | None:
        if v is None or not v.get_secret_value():
            return None
        import base64
        import binascii

        try:
            raw = base64.urlsafe_b64decode(v.get_secret_value().encode("ascii"))
        except (binascii.Error, ValueError, UnicodeEncodeError):
            raw = b""
        if len(raw) != 32:
            raise ValueError(
                "IVR_PII_KEY must be urlsafe base64 of 32 bytes; make one with "
                "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
            )
        return v

    @model_validator(mode="after")
    def _derive(self) -> "Settings":
        # absolute from the start, so every derived path (and the log) says where data goes
        self.data_dir = d = self.data_dir.expanduser().absolute()
        if self.database_url is None:
            self.database_url = f"sqlite:///{(d / 'ivr.sqlite3').as_posix()}"
        if self.prompt_cache_dir is None:
            self.prompt_cache_dir = d / "prompts"
        if self.sounds_dir is None:
            self.sounds_dir = d / "sounds"
        if self.recordings_dir is None:
            self.recordings_dir = d / "recordings"
        if self.whisper_cache_dir is None:
            self.whisper_cache_dir = d / "models" / "whisper"
        if self.pii_mode == "encrypt" and self.pii_key is None:
            raise ValueError("pii_mode=encrypt needs the key in the environment variable IVR_PII_KEY")
        return self

    # ------------------------------------------------------------------ sources

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # no .env file and no secrets dir: environment and the explicit config file only
        return (init_settings, env_settings, _ConfigFileSource(settings_cls))

    # ------------------------------------------------------------------ helpers

    @property
    def outbox_dir(self) -> Path:
        """Durable journal of writes the database could not take yet."""
        return self.data_dir / "outbox"

    @property
    def calls_journal_dir(self) -> Path:
        """Live calls' journal: one directory per ``ivr serve`` process (crash recovery)."""
        return self.data_dir / "calls"

    def hours(self) -> OfficeHours:
        return OfficeHours.parse(self.office_hours, self.holidays())

    def holidays(self) -> frozenset[date]:
        """Days the office is closed and that are not working days for SLA deadlines: the
        configured ``public_holidays``, plus the national ones unless ``national_holidays`` is off."""
        days = frozenset(self.public_holidays)
        return days | national_holidays() if self.national_holidays else days

    def ami(self) -> AmiConfig | None:
        if self.ami_url is None:
            return None
        return parse_ami_url(self.ami_url.get_secret_value())

    def script_path(self) -> Path:
        """The dialog script to run: ``script`` or the packaged default."""
        if self.script is not None:
            return self.script
        from dialogs import default_script_path  # ivr may import dialogs

        return Path(default_script_path())

    def recognizer_options(self) -> RecognizerOptions:
        """Keyword arguments of asr.create_recognizer that come from these settings."""
        return {"workers": self.asr_workers or None, "threads": self.asr_threads or None,
                "whisper_scoring": self.whisper_scoring, "whisper_beam_size": self.whisper_beam_size,
                "whisper_compute_type": self.whisper_compute_type, "whisper_scorer": self.whisper_scorer,
                "whisper_text_beam_size": self.whisper_text_beam_size,
                "whisper_text_decoder": self.whisper_text_decoder, "whisper_views": tuple(self.whisper_views),
                "whisper_prune_labels": self.whisper_prune_labels, "whisper_view_phrases": self.whisper_view_phrases,
                "whisper_pack_phrases": self.whisper_pack_phrases,
                "whisper_audio_intent": self.whisper_audio_intent, "whisper_wide_encoder": self.whisper_wide_encoder,
                # the audio's emergency readings are computed only where the understander reads them
                "whisper_audio_emergency": self.emergency_audio}

    def ensure_dirs(self) -> None:
        """Create the data directory and the derived directories that live in it."""
        for p in (self.data_dir, self.prompt_cache_dir, self.sounds_dir, self.recordings_dir,
                  self.outbox_dir):
            assert p is not None
            p.mkdir(parents=True, exist_ok=True)

    def safe_dump(self) -> dict[str, Any]:
        """Settings as JSON-safe dict with secrets hidden (for `ivr serve` start-up log, /status)."""
        out = self.model_dump(mode="json")
        for name in SECRET_FIELDS | {"ami_url"}:
            if out.get(name):
                out[name] = "***"
        if self.database_url:
            out["database_url"] = hide_url_password(self.database_url)
        return out


def hide_url_password(url: str) -> str:
    """``url`` with its password (if any) replaced by ``***``, for logs and messages."""
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return parts._replace(netloc=netloc).geturl()
    return url


def load_settings(config_file: str | Path | None = None, **overrides: Any) -> Settings:
    """Build :class:`Settings`. ``config_file`` (the CLI's ``--config``) wins over
    ``IVR_CONFIG_FILE``; ``overrides`` (CLI options, None values ignored) win over everything.

    Raises :class:`SettingsError` with a readable message on any invalid setting.
    """
    from pydantic import ValidationError

    path = Path(config_file) if config_file is not None else (
        Path(os.environ[CONFIG_FILE_ENV]) if os.environ.get(CONFIG_FILE_ENV) else None
    )
    token = _config_file_var.set(path)
    try:
        kwargs = {k: v for k, v in overrides.items() if v is not None}
        if path is not None:
            kwargs.setdefault("config_file", path)
        return Settings(**kwargs)
    except ValidationError as exc:
        msgs = []
        for err in exc.errors():
            loc = ".".join(str(x) for x in err["loc"]) or "settings"
            env = f" ({ENV_PREFIX}{loc.upper()})" if loc != "settings" else ""
            msg = err["msg"].removeprefix("Value error, ")
            msgs.append(f"{loc}{env}: {msg}")
        raise SettingsError("invalid settings: " + "; ".join(msgs)) from None
    finally:
        _config_file_var.reset(token)


def settings_reference() -> str:
    """A Markdown table of every setting: environment variable, default, description
    (for the README's configuration reference; `python -c "from ivr.config.settings import
    settings_reference as r; print(r())"`)."""
    rows = ["| Environment variable | Default | Description |", "| --- | --- | --- |"]
    for name, field in Settings.model_fields.items():
        if name == "config_file":
            default = "-"
        elif field.default_factory is not None:
            value = field.get_default(call_default_factory=True, validated_data={})
            default = ",".join(str(v) for v in value) if isinstance(value, list) else str(value)
        else:
            default = "" if field.default is None else str(field.default)
        if name in SECRET_FIELDS:
            desc = (field.description or "") + " Secret: environment only."
        else:
            desc = field.description or ""
        if name in ("database_url", "prompt_cache_dir", "sounds_dir", "recordings_dir", "whisper_cache_dir") \
                and not default:
            default = "(derived from data_dir)"
        rows.append(f"| `{ENV_PREFIX}{name.upper()}` | `{default}` | {desc.replace('|', '/')} |")
    return "\n".join(rows)
