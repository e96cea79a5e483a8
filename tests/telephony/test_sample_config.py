"""The sample Asterisk configuration states the contract the controller and the peer rely on."""

from __future__ import annotations

import re
import wave
from pathlib import Path

from telephony.asterisk import config_dir, sounds_dir
from telephony.peer import AsteriskPeer


def sections(name: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    cur = None
    for raw in (config_dir() / name).read_text().splitlines():
        line = raw.split(";", 1)[0].strip()
        if not line:
            continue
        m = re.fullmatch(r"\[([^\]]+)\].*", line)
        if m:
            cur = m.group(1)
            out.setdefault(cur, [])
        elif cur is not None:
            out[cur].append(line)
    return out


def test_dialplan_runs_agi_then_routes_by_channel_variables():
    ext = sections("extensions.conf")
    assert "IVR_AGI_URL=agi://127.0.0.1:4573/hotline" in ext["globals"]
    body = ext["hotline"]
    steps = [re.sub(r"^(exten => s,1,|same => n(\(\w+\))?,)", "", line) for line in body if "=>" in line]
    i_agi = next(i for i, st in enumerate(steps) if st.startswith("AGI("))
    assert steps.index("Answer()") < i_agi
    assert "Set(IVR_TRANSFER=0)" in steps[:i_agi] and "Set(IVR_DONE=0)" in steps[:i_agi]
    assert "Set(IVR_CALL_ID=)" in steps[:i_agi]
    # the dialplan form of AudioSocket is AudioSocket(uuid,host:port)
    assert any(re.fullmatch(r"AudioSocket\([0-9a-f-]{36},127\.0\.0\.1:9092\)", st)
               for st in (re.sub(r"^(exten => s,1,|same => n,)", "", line) for line in ext["audiosocket-test"]))


def test_other_files():
    assert "bindaddr = 127.0.0.1" in sections("manager.conf")["general"]
    assert any(line.startswith("read =") and "agi" in line for line in sections("manager.conf")["ivr"])
    assert "hotline" in sections("queues.conf")
    mods = sections("modules.conf")["modules"]
    for m in ("res_agi.so", "res_audiosocket.so", "app_audiosocket.so", "app_queue.so"):
        assert f"require = {m}" in mods
    # SIP stays optional: a required module that is not built stops Asterisk at start, and the
    # hotline needs no SIP (Local channels, DAHDI or IAX serve as well)
    assert "autoload = yes" in mods
    assert not [line for line in mods if line.startswith("require") and "pjsip" in line]
    pj = (config_dir() / "pjsip.conf").read_text()
    assert "context = hotline" in pj and "context = agents" in pj


def _classes(section: list[str], key: str) -> set[str]:
    line = next(line for line in section if line.startswith(f"{key} ="))
    return {c.strip() for c in line.split("=", 1)[1].split(",")}


def test_the_ami_user_has_what_the_desk_needs_and_no_more():
    """One AMI user `ivr` for controller and desk: queue members (agent), callbacks
    (originate), channel variables (call), lists (reporting); never `system` (which also
    unlocks Originate of System()/Exec), `command` or `config`. Its secret is not in the file:
    it comes from an included file written from the environment."""
    user = sections("manager.conf")["ivr"]
    write = _classes(user, "write")
    assert {"agent", "originate", "call", "reporting"} <= write
    assert not write & {"system", "command", "config", "all"}
    read = _classes(user, "read")
    assert {"call", "agent", "user"} <= read               # OriginateResponse, Queue*, UserEvent
    assert not [line for line in user if line.startswith("secret")]
    raw = (config_dir() / "manager.conf").read_text()
    assert '#tryinclude "manager_ivr_secret.conf"' in raw.split("[ivr]", 1)[1]
    assert "IVR_AMI_SECRET" in raw
    assert "deny = 0.0.0.0/0.0.0.0" in user and "permit = 127.0.0.1/255.255.255.255" in user
    chanvars = next(line for line in sections("manager.conf")["general"] if line.startswith("channelvars"))
    for var in ("IVR_CALL_ID", "IVR_DONE", "IVR_CALLBACK_ID"):
        assert var in chanvars


def test_queues_are_dynamic_for_the_desk():
    """Agents log in and out from the desk (QueueAdd/QueueRemove): Asterisk refuses to remove
    a static member, so the sample has none; the controller's default queues all exist."""
    queues = sections("queues.conf")
    for q in ("hotline", "kependudukan", "pajak", "kesehatan", "sosial"):
        assert q in queues
        assert not [line for line in queues[q] if line.startswith("member")]
    assert "persistentmembers = yes" in queues["general"]


def test_the_apology_is_shipped_as_asterisk_plays_it():
    wav = sounds_dir() / "hotline" / "maaf-gangguan.wav"
    with wave.open(str(wav)) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (8000, 1, 2)
        seconds = w.getnframes() / w.getframerate()
    assert 8 < seconds < 30
    assert "Playback(hotline/maaf-gangguan)" in (config_dir() / "extensions.conf").read_text()


def test_every_service_binds_the_loopback_unless_configured():
    """Services bind 127.0.0.1 unless the operator sets an address: SIP too, with a comment
    telling operators to set the LAN address phones reach."""
    transport = sections("pjsip.conf")["transport-udp"]
    assert "bind = 127.0.0.1:5060" in transport
    raw = (config_dir() / "pjsip.conf").read_text()
    assert "LAN address" in raw.split("[transport-udp]", 1)[1].split("\n[", 1)[0]
    assert "bindaddr = 127.0.0.1" in sections("manager.conf")["general"]
    assert "IVR_AGI_URL=agi://127.0.0.1:4573/hotline" in sections("extensions.conf")["globals"]


def test_asterisk_logs_to_a_file_not_only_the_console():
    files = sections("logger.conf")["logfiles"]
    messages = next(line for line in files if line.startswith("messages.log"))
    assert all(level in messages for level in ("warning", "error", "security"))
    assert not any(line.startswith("full") for line in files)      # verbose logging stays opt-in


def test_peer_defaults_match_the_sample_dialplan():
    peer = AsteriskPeer()
    assert (peer.agi_host, peer.agi_port, peer.script, peer.context) == ("127.0.0.1", 4573, "hotline", "hotline")


def test_the_operator_guide_lists_exactly_the_sample_files():
    guide = (Path(__file__).resolve().parents[2] / "docs" / "asterisk.md").read_text()
    section = guide.split("## 1. Install the sample configuration", 1)[1].split("\n## ", 1)[0]
    listed = re.findall(r"^\| `([^`]+)` \|", section, flags=re.M)
    assert len(listed) == len(set(listed))
    assert set(listed) == {p.name for p in config_dir().glob("*.conf")}
