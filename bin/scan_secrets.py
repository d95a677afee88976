#!/usr/bin/env python3
"""Fail when a committed file holds something that looks like a real secret (`make lint` runs this).

Scans the files git tracks. A line that must hold such a shape on purpose (never a real key) can end with the
comment `scan-secrets: ignore`.
"""

import re
import subprocess
import sys
from pathlib import Path

PATTERNS = {
    "Anthropic/OpenAI-style API key": re.compile(r"\bsk-(?:ant-)?[A-Za-z0-9_-]{20,}"),
    "AWS access key": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "private key": re.compile(r"-----BEGIN (?:RSA |EC |OPENSSH |DSA )?PRIVATE KEY-----"),
    "GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}"),
    "Slack token": re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}"),
    "hard-coded secret setting": re.compile(
        r"""^\s*(?:SECRET_KEY|[A-Z_]*(?:API_KEY|ACCESS_TOKEN|CHANNEL_SECRET|PASSWORD))\s*=\s*["'][^"'\s]{16,}["']"""
    ),
}
IGNORE_MARK = "scan-secrets: ignore"
FORBIDDEN_FILES = {".env"}


def tracked_files(root: Path) -> list[Path]:
    out = subprocess.run(["git", "ls-files", "-z"], cwd=root, capture_output=True, check=True).stdout
    return [root / name for name in out.decode().split("\0") if name]


def scan(root: Path) -> list[str]:
    findings = []
    for path in tracked_files(root):
        relative = path.relative_to(root)
        if relative.name in FORBIDDEN_FILES:
            findings.append(f"{relative}: a local environment file must not be committed")
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, FileNotFoundError, IsADirectoryError):
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            if IGNORE_MARK in line:
                continue
            for label, pattern in PATTERNS.items():
                if pattern.search(line):
                    findings.append(f"{relative}:{number}: looks like a {label}")
    return findings


def main() -> int:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path.cwd()
    findings = scan(root)
    for finding in findings:
        print(finding, file=sys.stderr)
    if findings:
        print(f"{len(findings)} possible secret(s) committed: remove them and rotate the keys.", file=sys.stderr)
        return 1
    print("No committed secrets found.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
