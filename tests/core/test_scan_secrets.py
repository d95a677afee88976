import subprocess
import sys
from pathlib import Path

SCANNER = Path(__file__).resolve().parents[2] / "bin" / "scan_secrets.py"


def _repo_with(tmp_path, name, text):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / name).write_text(text)
    subprocess.run(["git", "add", name], cwd=tmp_path, check=True)
    return subprocess.run([sys.executable, str(SCANNER), str(tmp_path)], capture_output=True, text=True)


def test_a_committed_api_key_fails_the_scan(tmp_path):
    key = "sk-" + "ant-" + "A1b2C3d4" * 4
    result = _repo_with(tmp_path, "settings.py", f'ANTHROPIC_API_KEY = "{key}"\n')
    assert result.returncode == 1
    assert "settings.py:1" in result.stderr


def test_a_committed_env_file_fails_the_scan(tmp_path):
    result = _repo_with(tmp_path, ".env", "DEBUG=1\n")
    assert result.returncode == 1
    assert "must not be committed" in result.stderr


def test_clean_code_passes(tmp_path):
    result = _repo_with(tmp_path, "app.py", 'API_KEY = env.str("ANTHROPIC_API_KEY", default="")\n')
    assert result.returncode == 0, result.stderr


def test_this_repository_has_no_committed_secret():
    result = subprocess.run([sys.executable, str(SCANNER), str(SCANNER.parents[1])], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
