from apps.inventory.services import device_token_issue
from apps.inventory.tablet_pairing import PAIRING_COOKIE


def test_pairing_sets_an_httponly_cookie_and_redirects_to_the_clean_url(client, shop):
    token = device_token_issue(machine=shop)

    response = client.get(f"/tablet/HQ-1F/?pair={token}")

    assert response.status_code == 302 and response["Location"] == "/tablet/HQ-1F/"
    cookie = response.cookies[PAIRING_COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Strict" and token not in cookie.value
    page = client.get("/tablet/HQ-1F/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "コーラ" in html and "150円" in html and "残り8" in html and 'data-idle-seconds="90"' in html


def test_an_unpaired_browser_or_a_wrong_token_gets_no_tablet(client, shop):
    device_token_issue(machine=shop)

    assert client.get("/tablet/HQ-1F/").status_code == 403
    wrong = client.get("/tablet/HQ-1F/?pair=not-the-token")
    assert wrong.status_code == 403 and PAIRING_COOKIE not in wrong.cookies


def test_a_new_device_token_unpairs_the_tablet(client, shop):
    client.get(f"/tablet/HQ-1F/?pair={device_token_issue(machine=shop)}")

    device_token_issue(machine=shop)

    assert client.get("/tablet/HQ-1F/").status_code == 403


def test_a_cookie_of_one_machine_does_not_open_another(client, shop):
    from tests.factories import MachineFactory

    other = MachineFactory(code="HQ-2F")
    device_token_issue(machine=other)
    client.get(f"/tablet/HQ-1F/?pair={device_token_issue(machine=shop)}")

    assert client.get("/tablet/HQ-2F/").status_code == 403


def test_a_staff_login_is_not_a_tablet_credential(client, shop, staff_user):
    client.force_login(staff_user)

    assert client.get("/tablet/HQ-1F/").status_code == 403
