"""Allergens on Japanese food labels (食品表示基準): the 8 whose labelling is mandatory (特定原材料) and the 20
recommended ones (特定原材料に準ずるもの), as stored in `Product.allergens` (the Japanese names are the codes)."""

from django.utils.translation import gettext_lazy as _

MANDATORY = {
    "えび": _("えび"),
    "かに": _("かに"),
    "くるみ": _("くるみ"),
    "小麦": _("小麦"),
    "そば": _("そば"),
    "卵": _("卵"),
    "乳": _("乳"),
    "落花生": _("落花生"),
}
RECOMMENDED = {
    "アーモンド": _("アーモンド"),
    "あわび": _("あわび"),
    "いか": _("いか"),
    "いくら": _("いくら"),
    "オレンジ": _("オレンジ"),
    "カシューナッツ": _("カシューナッツ"),
    "キウイフルーツ": _("キウイフルーツ"),
    "牛肉": _("牛肉"),
    "ごま": _("ごま"),
    "さけ": _("さけ"),
    "さば": _("さば"),
    "大豆": _("大豆"),
    "鶏肉": _("鶏肉"),
    "バナナ": _("バナナ"),
    "豚肉": _("豚肉"),
    "マカダミアナッツ": _("マカダミアナッツ"),
    "もも": _("もも"),
    "やまいも": _("やまいも"),
    "りんご": _("りんご"),
    "ゼラチン": _("ゼラチン"),
}
ALL = {**MANDATORY, **RECOMMENDED}
CHOICES = [(code, label) for code, label in ALL.items()]
# What customers type for the mandatory ones, read by the allergen tool: 牛乳 → 乳, 玉子 → 卵, ピーナッツ → 落花生.
SYNONYMS = {
    "牛乳": "乳",
    "乳製品": "乳",
    "ミルク": "乳",
    "玉子": "卵",
    "たまご": "卵",
    "タマゴ": "卵",
    "ピーナッツ": "落花生",
    "小麦粉": "小麦",
    "こむぎ": "小麦",
    "エビ": "えび",
    "カニ": "かに",
    "クルミ": "くるみ",
    "ソバ": "そば",
    "蕎麦": "そば",
    "胡麻": "ごま",
    "ゴマ": "ごま",
    "milk": "乳",
    "egg": "卵",
    "eggs": "卵",
    "wheat": "小麦",
    "gluten": "小麦",
    "peanut": "落花生",
    "peanuts": "落花生",
    "shrimp": "えび",
    "prawn": "えび",
    "crab": "かに",
    "walnut": "くるみ",
    "walnuts": "くるみ",
    "buckwheat": "そば",
    "soba": "そば",
    "soy": "大豆",
    "soybean": "大豆",
    "sesame": "ごま",
}


def allergen_code(word: str) -> str | None:
    """The stored code for a word a customer used, or None if it is no labelled allergen."""
    word = word.strip()
    if word in ALL:
        return word
    return SYNONYMS.get(word) or SYNONYMS.get(word.lower())
