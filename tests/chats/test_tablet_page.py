import io
import json
import logging

from django.test import Client

from apps.core.logging import JsonFormatter, RedactionFilter, RequestIdFilter
from apps.inventory.services import device_token_issue
from apps.inventory.tablet_pairing import PAIRING_COOKIE
from tests.factories import AgentFactory, PersonaFactory


def pair(client, token, code="HQ-1F"):
    return client.post(f"/tablet/{code}/", {"token": token})


def test_pairing_by_the_form_sets_an_httponly_cookie_and_redirects_to_the_page(client, shop):
    token = device_token_issue(machine=shop)
    form = client.get("/tablet/HQ-1F/")
    assert form.status_code == 403 and 'id="pair-form" method="post"' in form.content.decode()

    response = pair(client, token)

    assert response.status_code == 303 and response["Location"] == "/tablet/HQ-1F/"
    cookie = response.cookies[PAIRING_COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Strict" and token not in cookie.value
    page = client.get("/tablet/HQ-1F/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "コーラ" in html and "150円" in html and "残り8" in html and 'data-idle-seconds="90"' in html


def test_an_unpaired_browser_or_a_wrong_token_gets_no_tablet(client, shop):
    device_token_issue(machine=shop)

    assert client.get("/tablet/HQ-1F/").status_code == 403
    wrong = pair(client, "not-the-token")
    assert wrong.status_code == 403 and PAIRING_COOKIE not in wrong.cookies
    assert "トークンが正しくありません" in wrong.content.decode()


def test_the_pairing_form_is_csrf_protected(shop):
    token = device_token_issue(machine=shop)
    client = Client(enforce_csrf_checks=True)

    assert pair(client, token).status_code == 403 and PAIRING_COOKIE not in client.cookies
    form = client.get("/tablet/HQ-1F/")
    accepted = client.post("/tablet/HQ-1F/", {"token": token, "csrfmiddlewaretoken": form.context["csrf_token"]})
    assert accepted.status_code == 303 and PAIRING_COOKIE in accepted.cookies


def test_a_token_in_the_url_pairs_nothing_and_never_reaches_a_log_line(client, shop):
    token = device_token_issue(machine=shop)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    handler.addFilter(RedactionFilter())
    logging.getLogger("django.request").addHandler(handler)
    try:
        response = client.get(f"/tablet/HQ-1F/?pair={token}")
    finally:
        logging.getLogger("django.request").removeHandler(handler)

    assert response.status_code == 403 and PAIRING_COOKIE not in response.cookies
    assert client.get("/tablet/HQ-1F/").status_code == 403
    logged = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert logged and all(token not in json.dumps(line, ensure_ascii=False) for line in logged)
    assert any("pair=[REDACTED]" in str(line.get("request")) for line in logged)


def test_a_new_device_token_unpairs_the_tablet(client, shop):
    pair(client, device_token_issue(machine=shop))

    device_token_issue(machine=shop)

    assert client.get("/tablet/HQ-1F/").status_code == 403


def test_a_cookie_of_one_machine_does_not_open_another(client, shop):
    from tests.factories import MachineFactory

    other = MachineFactory(code="HQ-2F")
    device_token_issue(machine=other)
    pair(client, device_token_issue(machine=shop))

    assert client.get("/tablet/HQ-2F/").status_code == 403


def test_a_staff_login_is_not_a_tablet_credential(client, shop, staff_user):
    client.force_login(staff_user)

    assert client.get("/tablet/HQ-1F/").status_code == 403


def test_the_page_greets_with_the_shopkeeper_personas_greeting_or_a_plain_one_without_a_shopkeeper(client, machine):
    pair(client, device_token_issue(machine=machine))
    assert (
        '<p id="greeting" class="assistant">いらっしゃいませ！ご用件をどうぞ。</p>'
        in client.get("/tablet/HQ-1F/").content.decode()
    )

    AgentFactory(kind="shopkeeper", persona=PersonaFactory(greeting="やあ、ソウタだよ。何か飲む？"))
    assert (
        '<p id="greeting" class="assistant">やあ、ソウタだよ。何か飲む？</p>'
        in client.get("/tablet/HQ-1F/").content.decode()
    )
