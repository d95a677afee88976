"""Schemathesis against the live API: generated requests from /api/schema/, as the tablet and as a manager, and not one
answer is a server error. A subprocess of the `st` CLI against daphne, bounded in examples and time."""

import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from apps.inventory.services import device_token_issue
from tests.agents import conftest as agents

# A machine with cola and tea to buy and a shopkeeper to chat with: the agents' fixtures (found by module attribute).
machine, cola, tea, shopkeeper, shop = agents.machine, agents.cola, agents.tea, agents.shopkeeper, agents.shop

MAX_EXAMPLES = 30


@pytest.mark.postgres
def test_generated_requests_to_every_operation_get_no_server_error(
    asgi_live_server, shop, manager_user, client, tmp_path
):
    token = device_token_issue(machine=shop)
    client.force_login(manager_user)
    csrf = secrets.token_hex(16)  # 32 characters: a CSRF secret Django accepts as cookie and header alike
    config = tmp_path / "schemathesis.toml"
    # Every machine path names the machine the token is for, so generated bodies get past the permission check.
    config.write_text('[parameters]\n"path.code" = "HQ-1F"\n')
    st = Path(sys.executable).with_name("st")
    result = subprocess.run(
        [
            str(st),
            "--config-file",
            str(config),
            "run",
            f"{asgi_live_server}/api/schema/",
            "--checks",
            "not_a_server_error",
            "--max-examples",
            str(MAX_EXAMPLES),
            "--phases",
            "examples,coverage,fuzzing",
            "--workers",
            "1",
            "--seed",
            "16",
            "--request-timeout",
            "20",
            "--generation-database",
            "none",
            "--generation-with-security-parameters",
            "false",
            "--no-color",
            "--header",
            f"Authorization: Device {token}",
            "--header",
            f"Cookie: sessionid={client.cookies['sessionid'].value}; csrftoken={csrf}",
            "--header",
            f"X-CSRFToken: {csrf}",
        ],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    cases = re.search(r"Test cases:\s+(\d+) generated, (\d+) passed\n", result.stdout)
    assert cases and int(cases[1]) >= 15 * 10 and cases[1] == cases[2], result.stdout[-3000:]
