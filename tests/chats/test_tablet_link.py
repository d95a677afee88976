import datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from apps.inventory.models import TabletPairingCode
from apps.inventory.services import device_token_issue
from apps.inventory.tablet_pairing import PAIRING_COOKIE


def tablet_link(port="8123") -> str:
    call_command("tablet_link", "HQ-1F", "--base-url", f"http://127.0.0.1:{port}", stdout=(out := StringIO()))
    return out.getvalue().strip()


def open_link(client, link):
    """What the page's script does with `#pair=…`: post the fragment with the pairing form."""
    path, fragment = link.removeprefix("http://127.0.0.1:8123").split("#pair=")
    return client.post(path, {"token": fragment})


def test_the_link_pairs_one_tablet_once_and_the_tablets_already_paired_stay_paired(shop):
    paired_before = Client()
    paired_before.post("/tablet/HQ-1F/", {"token": device_token_issue(machine=shop)})
    assert paired_before.get("/tablet/HQ-1F/").status_code == 200

    link = tablet_link()
    assert link.startswith("http://127.0.0.1:8123/tablet/HQ-1F/#pair=") and "?" not in link

    first, second = Client(), Client()
    assert open_link(first, link).status_code == 303
    assert first.get("/tablet/HQ-1F/").status_code == 200
    refused = open_link(second, link)
    assert refused.status_code == 403 and PAIRING_COOKIE not in refused.cookies
    assert "トークンが正しくありません" in refused.content.decode()
    assert second.get("/tablet/HQ-1F/").status_code == 403
    assert paired_before.get("/tablet/HQ-1F/").status_code == 200


def test_an_expired_link_is_refused(shop):
    link = tablet_link()
    TabletPairingCode.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))

    assert open_link(Client(), link).status_code == 403


def test_a_machine_never_paired_gets_a_working_link_and_an_unknown_machine_a_clear_error(shop):
    shop.device_token_hash = ""
    shop.save(update_fields=["device_token_hash"])
    client = Client()

    assert open_link(client, tablet_link()).status_code == 303
    assert client.get("/tablet/HQ-1F/").status_code == 200
    with pytest.raises(CommandError):
        call_command("tablet_link", "NOPE-9", stdout=StringIO())
