import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENV_READ = re.compile(
    r"""\benv(?:\.(?:str|bool|int|float|list|path|db|url|json|dict))?\(\s*["']([A-Z][A-Z0-9_]+)["']"""
)


def test_env_example_lists_every_variable_the_code_reads():
    read = set()
    for path in [*ROOT.joinpath("vendbot").rglob("*.py"), *ROOT.joinpath("apps").rglob("*.py")]:
        read |= set(ENV_READ.findall(path.read_text(encoding="utf-8")))
    listed = {
        line.split("=", 1)[0].lstrip("# ").strip()
        for line in ROOT.joinpath(".env.example").read_text(encoding="utf-8").splitlines()
        if "=" in line
    }
    assert read, "the pattern found no env reads: it is out of date"
    assert read <= listed, f"missing from .env.example: {sorted(read - listed)}"
