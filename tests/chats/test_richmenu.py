from io import StringIO

from django.core.management import call_command


def test_setup_line_richmenu_creates_uploads_and_sets_the_default_menu(fake_line):
    out = StringIO()

    call_command("setup_line_richmenu", stdout=out)

    menu = fake_line.sent("/v2/bot/richmenu")[0]["body"]
    assert [area["action"].get("displayText") or area["action"]["text"] for area in menu["areas"]] == [
        "商品一覧",
        "おすすめは？",
        "クーポン",
        "リクエスト",
    ]
    upload = fake_line.sent("/v2/bot/richmenu/richmenu-fake-1/content")[0]
    assert upload["headers"]["Content-Type"] == "image/png"
    assert fake_line.sent("/v2/bot/user/all/richmenu/richmenu-fake-1")
    assert "richmenu-fake-1" in out.getvalue()
