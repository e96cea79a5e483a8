#!/usr/bin/env python3
"""Vendor the web app's front-end libraries from the npm registry into the package.

The hotline runs without internet, so every script and style sheet its pages use ships inside
the Python package (``ivr/web/static/vendor/``); nothing is loaded from a CDN. Which package,
which version and which files are listed in ``ivr/web/static/vendor/vendor.json``; this script
fetches each with ``npm pack`` (the npm registry is reachable by package name), copies the listed
files and their licence, and records every file's SHA-256 in the manifest. The test suite checks
the files against those hashes, so a vendored file cannot change unnoticed.

    python3 tools/vendor_web.py            # fetch what the manifest lists, rewrite hashes
    python3 tools/vendor_web.py --check    # verify the files against the manifest only
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

VENDOR = Path(__file__).resolve().parent.parent / "ivr" / "web" / "static" / "vendor"
MANIFEST = VENDOR / "vendor.json"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fetch(name: str, version: str, files: dict[str, str], dest: Path) -> dict[str, str]:
    """npm pack NAME@VERSION; copy ``files`` (source path in the package -> name in ``dest``)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run(["npm", "pack", f"{name}@{version}", "--silent"], cwd=tmp, check=True,
                             capture_output=True, text=True).stdout.strip().splitlines()[-1]
        with tarfile.open(Path(tmp) / out) as tar:
            tar.extractall(tmp, filter="data")
        dest.mkdir(parents=True, exist_ok=True)
        hashes = {}
        for src, target in files.items():
            shutil.copyfile(Path(tmp) / "package" / src, dest / target)
            hashes[target] = sha256(dest / target)
        return hashes


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="only verify the vendored files")
    args = ap.parse_args()
    manifest = json.loads(MANIFEST.read_text())
    bad = 0
    for entry in manifest["packages"]:
        dest = VENDOR / entry["dir"]
        if args.check:
            for target, digest in entry["sha256"].items():
                if not (dest / target).is_file() or sha256(dest / target) != digest:
                    print(f"{entry['dir']}/{target}: missing or changed", file=sys.stderr)
                    bad += 1
            continue
        entry["sha256"] = fetch(entry["npm"], entry["version"], entry["files"], dest)
        print(f"{entry['npm']}@{entry['version']}: {len(entry['files'])} files")
    if not args.check:
        MANIFEST.write_text(json.dumps(manifest, indent=2) + "\n")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
