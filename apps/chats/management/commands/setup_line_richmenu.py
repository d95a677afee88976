"""Install the LINE rich menu (商品一覧, おすすめ, クーポン, リクエスト) and make it every user's default."""

from urllib.parse import urlencode

from django.core.management.base import BaseCommand, CommandError
from linebot.v3.messaging import ApiException, RichMenuRequest

from apps.chats.integrations.line_api import LineMessenger

WIDTH, HEIGHT = 2500, 843
ITEMS = [
    ("商品一覧", {"type": "postback", "data": urlencode({"action": "products"}), "displayText": "商品一覧"}),
    ("おすすめ", {"type": "message", "text": "おすすめは？"}),
    ("クーポン", {"type": "postback", "data": urlencode({"action": "coupons"}), "displayText": "クーポン"}),
    ("リクエスト", {"type": "postback", "data": urlencode({"action": "request_help"}), "displayText": "リクエスト"}),
]


def _menu_image() -> bytes:
    """Four labelled tiles, drawn here so the menu needs no design file."""
    from io import BytesIO

    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("RGB", (WIDTH, HEIGHT), "#2a6f4e")
    draw = ImageDraw.Draw(image)
    tile = WIDTH // len(ITEMS)
    try:
        font = ImageFont.truetype("NotoSansCJK-Regular.ttc", 110)
    except OSError:
        font = ImageFont.load_default(size=110)
    for index, (label, _action) in enumerate(ITEMS):
        draw.rectangle([index * tile + 8, 8, (index + 1) * tile - 8, HEIGHT - 8], outline="#ffffff", width=6)
        draw.text((index * tile + tile // 2, HEIGHT // 2), label, fill="#ffffff", font=font, anchor="mm")
    buffer = BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


class Command(BaseCommand):
    help = __doc__

    def handle(self, *args, **options):
        tile = WIDTH // len(ITEMS)
        request = RichMenuRequest.from_dict(
            {
                "size": {"width": WIDTH, "height": HEIGHT},
                "selected": True,
                "name": "VendBot",
                "chatBarText": "メニュー",
                "areas": [
                    {"bounds": {"x": index * tile, "y": 0, "width": tile, "height": HEIGHT}, "action": action}
                    for index, (_label, action) in enumerate(ITEMS)
                ],
            }
        )
        try:
            with LineMessenger() as messenger:
                menu_id = messenger.api.create_rich_menu(request).rich_menu_id
                messenger.blob.set_rich_menu_image(menu_id, _menu_image(), _headers={"Content-Type": "image/png"})
                messenger.api.set_default_rich_menu(menu_id)
        except ApiException as exc:
            raise CommandError(f"LINE refused the rich menu: {exc.status} {exc.body}") from exc
        self.stdout.write(f"Rich menu {menu_id} installed as the default.")
