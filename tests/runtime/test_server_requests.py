"""The web server's requests (vendbot/server.py): a body reaches the application as it came, whatever Twisted, under
daphne, would have made of it."""

import http.client
import json
from urllib.parse import urlsplit

from tests.runtime.conftest import LIVE_PROCESSES

pytestmark = LIVE_PROCESSES


def test_a_form_body_twisted_cannot_parse_gets_the_apis_json_answer(process_env, processes, device_token):
    # A multipart Content-Type without its boundary: Twisted's own form parsing (on in plain daphne) answered it
    # with a bare 400 before the application saw it.
    base_url, _ = processes.web(process_env)
    conn = http.client.HTTPConnection(urlsplit(base_url).netloc, timeout=30)
    conn.request(
        "POST",
        "/api/machines/HQ-1F/purchases/",
        body=b'--x\r\nContent-Disposition: form-data; name="items"\r\n\r\nA1\r\n--x--\r\n',
        headers={"Authorization": f"Device {device_token}", "Content-Type": "multipart/form-data"},
    )
    response = conn.getresponse()

    assert response.status == 415
    assert json.loads(response.read())["error"]["code"] == "unsupported_media_type"
    conn.close()
