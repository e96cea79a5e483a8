"""The sample Asterisk configuration states the contract the controller and the peer rely on."""

from __future__ import annotations

import re
from pathlib import Path

from telephony.asterisk import config_dir
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
    i_agi = next(i for i, st in enumerate(steps) if st.startswith("AGI(${IVR_AGI_URL})"))
    assert steps.index("Answer()") < i_agi
    assert "Set(IVR_TRANSFER=0)" in steps[:i_agi]
    rest = steps[i_agi:]
    goto = next(st for st in rest if st.startswith("GotoIf"))
    assert '"${IVR_TRANSFER}" = "1"' in goto
    assert rest[rest.index(goto) + 1] == "Hangup()"
    assert any(st.startswith("Queue(${IVR_QUEUE}") for st in rest)
    assert any("${IVR_CALL_ID}" in st for st in rest)
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
