"""Settings: environment, config files, secrets, derived paths, office hours, working days."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from ivr.config.calendar import CalendarError, OfficeHours, working_days_after
from ivr.config.settings import SettingsError, load_settings, parse_ami_url

KEY = "0" * 43 + "="  # urlsafe base64 of 32 zero bytes


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    import os

    for k in list(os.environ):
        if k.startswith("IVR_"):
            monkeypatch.delenv(k)


def test_defaults_are_local_and_derived_from_data_dir(tmp_path):
    s = load_settings(data_dir=tmp_path)
    assert (s.agi_port, s.audiosocket_port, s.web_port) == (4573, 9092, 8080)
    assert s.agi_host == s.web_host == s.audiosocket_host == "127.0.0.1"
    assert s.database_url == f"sqlite:///{(tmp_path / 'ivr.sqlite3').as_posix()}"
    assert s.prompt_cache_dir == tmp_path / "prompts"
    assert s.outbox_dir == tmp_path / "outbox"
    assert s.media_mode == "audiosocket" and s.asr_engine == "whisper" and s.tts_engine == "espeak"
    assert s.audiosocket_advertise is None  # the AudioSocket server advertises its host and bound port
    s.ensure_dirs()
    assert (tmp_path / "recordings").is_dir() and (tmp_path / "sounds").is_dir()


def test_environment_overrides(monkeypatch, tmp_path):
    monkeypatch.setenv("IVR_WEB_PORT", "9001")
    monkeypatch.setenv("IVR_AGI_PORT", "0")
    monkeypatch.setenv("IVR_DATABASE_URL", "postgresql://u:pw@db:5432/x")
    monkeypatch.setenv("IVR_AGENT_QUEUES", "hotline, pengaduan")
    monkeypatch.setenv("IVR_PUBLIC_HOLIDAYS", "2026-12-25,2027-01-01")
    monkeypatch.setenv("IVR_MEDIA_MODE", "agi")
    monkeypatch.setenv("IVR_LOG_LEVEL", "debug")
    s = load_settings()
    assert s.web_port == 9001 and s.agi_port == 0 and s.media_mode == "agi"
    assert s.agent_queues == ["hotline", "pengaduan"]
    assert s.public_holidays == [date(2026, 12, 25), date(2027, 1, 1)]
    assert s.log_level == "DEBUG"
    assert s.safe_dump()["database_url"] == "postgresql://u:***@db:5432/x"


def test_invalid_values_name_the_setting(monkeypatch):
    monkeypatch.setenv("IVR_WEB_PORT", "eighty")
    with pytest.raises(SettingsError, match="IVR_WEB_PORT"):
        load_settings()
    monkeypatch.delenv("IVR_WEB_PORT")
    with pytest.raises(SettingsError, match="media_mode"):
        load_settings(media_mode="eagi")
    with pytest.raises(SettingsError, match="office_hours"):
        load_settings(office_hours="Mon-Fri 16:00-08:00")
    with pytest.raises(SettingsError, match="ami_url"):
        load_settings(ami_url="http://x")


@pytest.mark.parametrize("suffix", [".toml", ".yaml"])
def test_config_file_precedence(monkeypatch, tmp_path, suffix):
    cfg = tmp_path / f"ivr{suffix}"
    if suffix == ".toml":
        cfg.write_text('web_port = 8500\nagi_port = 4600\nretention_days = 30\nagent_queues = ["a", "b"]\n')
    else:
        cfg.write_text("ivr:\n  web_port: 8500\n  agi_port: 4600\n  retention_days: 30\n  agent_queues: [a, b]\n")
    monkeypatch.setenv("IVR_CONFIG_FILE", str(cfg))
    monkeypatch.setenv("IVR_AGI_PORT", "4700")  # env beats file
    s = load_settings()
    assert (s.web_port, s.agi_port, s.retention_days, s.agent_queues) == (8500, 4700, 30, ["a", "b"])
    assert s.config_file == cfg
    # explicit argument (the CLI's option) beats env and file
    assert load_settings(agi_port=4800).agi_port == 4800
    # --config beats IVR_CONFIG_FILE
    other = tmp_path / "other.toml"
    other.write_text("web_port = 8600\n")
    assert load_settings(config_file=other).web_port == 8600


def test_config_file_rejects_secrets_and_unknown_keys(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'pii_key = "{KEY}"\n')
    with pytest.raises(SettingsError, match="IVR_PII_KEY"):
        load_settings(config_file=cfg)
    cfg.write_text('ami_url = "ami://u:topsecret@127.0.0.1:5038"\n')
    with pytest.raises(SettingsError, match="password"):
        load_settings(config_file=cfg)
    cfg.write_text("web_prot = 1\n")
    with pytest.raises(SettingsError, match="web_prot"):
        load_settings(config_file=cfg)
    with pytest.raises(SettingsError, match="not found"):
        load_settings(config_file=tmp_path / "missing.toml")
    cfg.write_text("web_port = [\n")
    with pytest.raises(SettingsError, match="c.toml"):
        load_settings(config_file=cfg)


def test_secrets_from_env_are_hidden(monkeypatch):
    monkeypatch.setenv("IVR_PII_KEY", KEY)
    monkeypatch.setenv("IVR_ADMIN_TOKEN", "adm-secret")
    monkeypatch.setenv("IVR_AMI_URL", "ami://hotline:s3cr%40t@10.0.0.5")
    s = load_settings(pii_mode="encrypt")
    assert s.pii_key.get_secret_value() == KEY
    ami = s.ami()
    assert (ami.host, ami.port, ami.username, ami.secret) == ("10.0.0.5", 5038, "hotline", "s3cr@t")
    dumped = repr(s) + str(s.safe_dump()) + repr(ami)
    assert "adm-secret" not in dumped and "s3cr" not in dumped and KEY not in dumped


def test_encrypt_mode_needs_a_valid_key(monkeypatch):
    with pytest.raises(SettingsError, match="IVR_PII_KEY"):
        load_settings(pii_mode="encrypt")
    monkeypatch.setenv("IVR_PII_KEY", "too-short")
    with pytest.raises(SettingsError, match="32 bytes"):
        load_settings()


def test_ami_url_parsing():
    assert parse_ami_url("ami://u:p@127.0.0.1:5039").port == 5039
    with pytest.raises(SettingsError):
        parse_ami_url("ami://127.0.0.1")


JKT = timezone.utc  # times below are given in UTC; Jakarta is UTC+7


@pytest.mark.parametrize(
    "when,expected",
    [
        (datetime(2026, 11, 27, 1, 0, tzinfo=JKT), True),    # Fri 08:00 WIB: opens
        (datetime(2026, 11, 27, 0, 59, tzinfo=JKT), False),  # Fri 07:59 WIB
        (datetime(2026, 11, 27, 8, 59, tzinfo=JKT), True),   # Fri 15:59 WIB
        (datetime(2026, 11, 27, 9, 0, tzinfo=JKT), False),   # Fri 16:00 WIB: closed
        (datetime(2026, 11, 28, 3, 0, tzinfo=JKT), False),   # Saturday
        (datetime(2026, 12, 25, 3, 0, tzinfo=JKT), False),   # holiday (Friday)
    ],
)
def test_office_hours(when, expected):
    hours = OfficeHours.parse("Mon-Fri 08:00-16:00 Asia/Jakarta", frozenset({date(2026, 12, 25)}))
    assert hours.is_open(when) is expected


def test_office_hours_grammar():
    h = OfficeHours.parse("Senin-Kamis 08:00-12:00,13:00-16:00; Jumat 08:00-11:30 Asia/Makassar")
    wita = __import__("zoneinfo").ZoneInfo("Asia/Makassar")
    assert h.is_open(datetime(2026, 11, 23, 12, 30, tzinfo=wita)) is False  # lunch break
    assert h.is_open(datetime(2026, 11, 23, 13, 0, tzinfo=wita)) is True
    assert h.is_open(datetime(2026, 11, 27, 11, 0, tzinfo=wita)) is True
    assert h.is_open(datetime(2026, 11, 27, 13, 0, tzinfo=wita)) is False
    assert OfficeHours.parse("always").is_open(datetime(2026, 11, 29, tzinfo=JKT))
    assert not OfficeHours.parse("never").is_open(datetime(2026, 11, 24, 3, tzinfo=JKT))
    assert OfficeHours.parse("Sat-Mon 00:00-24:00").is_open(datetime(2026, 11, 29, 16, 59, tzinfo=JKT))
    for bad in ("", "Mon-Fri", "Xyz 08:00-10:00", "Mon 8-10", "Mon 08:00-10:00 Mars/Base"):
        with pytest.raises(CalendarError):
            OfficeHours.parse(bad)


def test_working_days_skip_weekends_and_holidays():
    fri = date(2026, 11, 27)
    assert working_days_after(fri, 1) == date(2026, 11, 30)  # Monday
    assert working_days_after(fri, 14) == date(2026, 12, 17)
    assert working_days_after(fri, 14, {date(2026, 12, 1), date(2026, 12, 2)}) == date(2026, 12, 21)


def test_reference_lists_every_setting():
    from ivr.config.settings import Settings, settings_reference

    ref = settings_reference()
    for name in Settings.model_fields:
        assert f"`IVR_{name.upper()}`" in ref
    assert "| `IVR_WEB_PORT` | `8080` |" in ref and "environment only" in ref
