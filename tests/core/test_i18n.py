"""Customer-facing text is Japanese by default and English on request; the English catalog stays complete.

When test_english_catalog_translates_every_japanese_msgid fails, new Japanese strings landed in the code: run
    DEBUG=1 .venv/bin/python manage.py makemessages -l en -l ja --ignore='.venv/*' --ignore='node_modules/*' \
        --ignore='tests/*' --ignore='bench/*'
translate the new entries in locale/en/LC_MESSAGES/django.po (and English msgids in locale/ja/...), then
    DEBUG=1 .venv/bin/python manage.py compilemessages --ignore='.venv/*' --ignore='node_modules/*'
and commit the .po and .mo files together.
"""

import ast
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext
from rest_framework.test import APIClient

from apps.core.errors import ValidationError
from apps.inventory.models import Payment, Sale
from apps.inventory.services import device_token_issue
from apps.inventory.services.sales import purchase_create
from tests.factories import MachineFactory

LOCALE = Path(settings.BASE_DIR) / "locale"
JAPANESE = re.compile(r"[\u3000-\u30ff\u3400-\u9fff\uff00-\uffef]")


def read_po(path: Path) -> list[dict]:
    """The entries of a .po file as {"msgid", "msgid_plural", "msgstr" (list), "flags", "obsolete"}; header skipped."""
    entries, entry, field = [], None, None

    def finish():
        if entry is not None and entry["msgid"] != "":
            entries.append(entry)

    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        obsolete = line.startswith("#~")
        if obsolete:
            line = line[2:].strip()
        if not line:
            continue
        if line.startswith("#,"):
            finish()
            entry, field = {"msgid": None, "msgid_plural": "", "msgstr": [], "flags": set(), "obsolete": False}, None
            entry["flags"] = {flag.strip() for flag in line[2:].split(",")}
            continue
        if line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        if line.startswith('"'):
            value = ast.literal_eval(line)
            if field == "msgstr":
                entry["msgstr"][-1] += value
            else:
                entry[field] += value
            continue
        value = ast.literal_eval(rest)
        if keyword == "msgctxt" or (keyword == "msgid" and (entry is None or entry["msgid"] is not None)):
            finish()
            entry = {"msgid": None, "msgid_plural": "", "msgstr": [], "flags": set(), "obsolete": obsolete}
        if keyword == "msgctxt":
            field = "msgctxt"
            entry["msgctxt"] = value
        elif keyword in ("msgid", "msgid_plural"):
            field = keyword
            entry[keyword] = value
        elif keyword.startswith("msgstr"):
            field = "msgstr"
            entry["msgstr"].append(value)
        entry["obsolete"] = entry["obsolete"] or obsolete
    finish()
    return [e for e in entries if not e["obsolete"]]


def test_defaults_are_japanese_with_english_available():
    assert settings.LANGUAGE_CODE == "ja"
    assert [code for code, _ in settings.LANGUAGES] == ["ja", "en"]
    assert "django.middleware.locale.LocaleMiddleware" in settings.MIDDLEWARE
    assert LOCALE in [Path(p) for p in settings.LOCALE_PATHS]


@pytest.mark.parametrize(
    ("msgid", "kwargs", "english"),
    [
        (
            "スロット {slot} は売り切れです（残り{available}個）。",
            {"slot": "A1", "available": 0},
            "Slot A1 does not have enough stock (0 left).",
        ),
        ("クーポン「{code}」は有効期限が切れています。", {"code": "VB-1"}, "Coupon “VB-1” has expired."),
        ("この自販機は現在ご利用いただけません。", {}, "This vending machine is currently unavailable."),
        ("ご購入ありがとうございます", {}, "Thank you for your purchase"),
    ],
)
def test_customer_messages_follow_the_active_language(msgid, kwargs, english):
    with translation.override("en"):
        assert gettext(msgid).format(**kwargs) == english
    with translation.override("ja"):
        assert gettext(msgid).format(**kwargs) == msgid.format(**kwargs)


@pytest.mark.django_db
def test_purchase_service_raises_in_the_active_language():
    machine = MachineFactory(code="HQ-1F")

    def error(**overrides):
        request = dict(
            machine=machine,
            items=[{"slot": "A1", "quantity": 1}],
            coupon_code=None,
            payment_method=Payment.Method.values[0],
            idempotency_key="k-1",
            channel=Sale.Channel.values[0],
        )
        request.update(overrides)
        with pytest.raises(ValidationError) as caught:
            purchase_create(**request)
        return str(caught.value.message)

    with translation.override("en"):
        assert error(payment_method="bitcoin") == "This payment method isn't available."
        assert error(items=[]) == "Please choose at least one product."
    with translation.override("ja"):
        assert error(payment_method="bitcoin") == "この支払い方法は使えません。"
        assert error(items=[]) == "商品を1つ以上選んでください。"


@pytest.mark.django_db
class TestApiErrorsFollowAcceptLanguage:
    URL = "/api/machines/HQ-1F/purchases/"

    def test_bad_device_token(self):
        MachineFactory(code="HQ-1F")
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION="Device not-a-real-token")
        body = {"items": [{"slot": "A1"}], "payment_method": "card"}

        english = client.post(self.URL, body, format="json", HTTP_ACCEPT_LANGUAGE="en")
        japanese = client.post(self.URL, body, format="json", HTTP_ACCEPT_LANGUAGE="ja")
        default = client.post(self.URL, body, format="json")

        assert english.status_code == japanese.status_code == 401
        assert english.json()["error"]["message"] == "The device token is invalid or has been disabled."
        assert japanese.json()["error"]["message"] == "デバイストークンが正しくないか、無効になっています。"
        assert default.json()["error"]["message"] == "デバイストークンが正しくないか、無効になっています。"

    def test_missing_idempotency_key(self):
        machine = MachineFactory(code="HQ-1F")
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Device {device_token_issue(machine=machine)}")
        body = {"items": [{"slot": "A1"}], "payment_method": "card"}

        english = client.post(self.URL, body, format="json", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
        japanese = client.post(self.URL, body, format="json", HTTP_ACCEPT_LANGUAGE="ja,en;q=0.5")

        assert english.status_code == japanese.status_code == 400
        assert english.json()["error"]["message"] == "An Idempotency-Key header (up to 100 characters) is required."
        assert japanese.json()["error"]["message"] == "Idempotency-Key ヘッダー（100文字以内）が必要です。"


def test_english_catalog_translates_every_japanese_msgid():
    entries = read_po(LOCALE / "en" / "LC_MESSAGES" / "django.po")
    japanese = [e for e in entries if JAPANESE.search(e["msgid"])]
    assert len(japanese) > 100
    untranslated = [e["msgid"] for e in japanese if not all(e["msgstr"]) or not e["msgstr"]]
    fuzzy = [e["msgid"] for e in japanese if "fuzzy" in e["flags"]]
    assert not untranslated, f"untranslated (run makemessages and translate, see module docstring): {untranslated}"
    assert not fuzzy, f"fuzzy translations to check: {fuzzy}"


def test_japanese_catalog_translates_every_english_msgid():
    entries = read_po(LOCALE / "ja" / "LC_MESSAGES" / "django.po")
    english = [e for e in entries if not JAPANESE.search(e["msgid"])]
    missing = [e["msgid"] for e in english if not all(e["msgstr"]) or "fuzzy" in e["flags"]]
    assert not missing, f"untranslated English msgids in the Japanese catalog: {missing}"


def _placeholders(text: str) -> list[str]:
    return sorted(re.findall(r"%\([a-z_]+\)[sd]|%%|\{\{|\}\}|\{[^{}]*\}", text))


def test_translations_keep_placeholders():
    for lang in ("en", "ja"):
        for e in read_po(LOCALE / lang / "LC_MESSAGES" / "django.po"):
            for msgstr in e["msgstr"]:
                if msgstr:
                    assert _placeholders(msgstr) == _placeholders(e["msgid"]), (lang, e["msgid"], msgstr)


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_committed_mo_matches_po(lang, tmp_path):
    """The committed .mo holds the same translations as the .po (recompile with compilemessages if this fails)."""
    from gettext import GNUTranslations

    po = LOCALE / lang / "LC_MESSAGES" / "django.po"
    mo = po.with_suffix(".mo")
    assert mo.exists(), f"{mo} is missing: run compilemessages"
    with mo.open("rb") as handle:
        committed = GNUTranslations(handle)._catalog
    expected = {
        e["msgid"]: e["msgstr"][0]
        for e in read_po(po)
        if not e["msgid_plural"] and "msgctxt" not in e and e["msgstr"] and e["msgstr"][0] and "fuzzy" not in e["flags"]
    }
    actual = {k: v for k, v in committed.items() if isinstance(k, str) and k}
    assert actual == expected
    if shutil.which("msgfmt"):
        fresh = tmp_path / "django.mo"
        subprocess.run(["msgfmt", "--check", "-o", str(fresh), str(po)], check=True, capture_output=True)
