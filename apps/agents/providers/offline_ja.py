"""How customers name products and quantities in Japanese, for the offline provider: partial names (コーヒー for
ブラック缶コーヒー 185g), everyday words (お茶, 水, 甘いもの), and quantities in digits, kanji or native counting
(2本, 二つ, 3個, ひとつ).

The everyday words point at fragments of product names or at a category, never at a SKU, so they follow whatever
catalogue the machine holds.
"""

import re

from apps.inventory import allergens

# Everyday word -> the name fragments (or "category:<value>") it means; each product holding one scores the
# word's length, so 甘いもの fits several products equally and the answer lists them.
EVERYDAY_WORDS: dict[str, tuple[str, ...]] = {
    "お茶": ("緑茶",),
    "おちゃ": ("緑茶",),
    "日本茶": ("緑茶",),
    "水": ("ウォーター",),
    "みず": ("ウォーター",),
    "珈琲": ("コーヒー",),
    "コーク": ("コーラ",),
    "ポカリ": ("スポーツドリンク",),
    "アクエリ": ("スポーツドリンク",),
    "スポドリ": ("スポーツドリンク",),
    "エナドリ": ("エナジードリンク",),
    "ポテチ": ("ポテトチップス",),
    "グミ": ("グミ",),
    "ラテ": ("ラテ",),
    "抹茶": ("抹茶",),
    "チョコ": ("チョコレート",),
    "煎餅": ("せんべい",),
    "おむすび": ("おにぎり",),
    "しゃけ": ("鮭",),
    "サーモン": ("鮭",),
    "サンドイッチ": ("サンド",),
    "卵": ("たまご",),
    "ラーメン": ("麺",),
    "ヌードル": ("麺",),
    "甘いもの": ("チョコレート", "グミ", "クッキー", "ケーキ", "ラテ"),
    "甘い物": ("チョコレート", "グミ", "クッキー", "ケーキ", "ラテ"),
    "スイーツ": ("チョコレート", "クッキー", "ケーキ"),
    "しょっぱい": ("チップス", "せんべい", "ナッツ"),
    "飲み物": ("category:drink",),
    "お菓子": ("category:snack",),
    "おやつ": ("category:snack",),
    "食べ物": ("category:food",),
    "ごはん": ("category:food",),
}
_SIZE = re.compile(r"\d+(?:ml|g|本|枚|個)?", re.I)
_KANJI = re.compile(r"[\u4e00-\u9fff]")
_NUMERALS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_NATIVE = {"ひと": 1, "ふた": 2, "みっ": 3, "よっ": 4, "いつ": 5, "むっ": 6, "なな": 7, "やっ": 8, "ここの": 9}
_COUNTER = r"(?:個|本|つ|缶|箱|袋|枚|パック|コ|点)"
QUANTITY_JA = re.compile(
    rf"(\d+)\s*{_COUNTER}|([一二三四五六七八九十]+)\s*{_COUNTER}|(ひと|ふた|みっ|よっ|いつ|むっ|なな|やっ|ここの)つ"
)

# A message that ends in a quantity (お茶2本, 抹茶ラテをひとつ) is an order; 「コーラを1000本発注して」 is not one.
ENDS_IN_QUANTITY = re.compile(rf"(?:{QUANTITY_JA.pattern})\s*(?:ね|で|お願い)?[!！。.\s]*$")


def quantity_ja(text: str) -> int | None:
    """The quantity said with a counter (2本, 三本, 二つ, ひとつ), or None."""
    match = QUANTITY_JA.search(text)
    if match is None:
        return None
    digits, kanji, native = match.groups()
    if digits:
        return int(digits)
    if native:
        return _NATIVE[native]
    tens, _ten, units = kanji.rpartition("十")
    if not _ten:
        return _NUMERALS.get(units, 1)
    return _NUMERALS.get(tens, 1) * 10 + _NUMERALS.get(units, 0)


def _part_score(part: str, text: str) -> int:
    """A name part said whole counts even if short (鮭); else its longest beginning or end said (コーヒー of
    ブラック缶コーヒー, カップ of カップ麺), from three characters, or two with a kanji (抹茶 of 宇治抹茶ラテ) — so that
    レシート does not read as チョコレート nor コーラ as コーヒー."""
    if part in text:
        return len(part)
    for size in range(len(part) - 1, 1, -1):
        for piece in (part[:size], part[-size:]):
            if piece in text and (size >= 3 or _KANJI.search(piece)):
                return size
    return 0


def _english_score(row: dict, lowered: str) -> int:
    words = re.findall(r"[a-zé]{3,}", (row["name_en"] or "").lower())
    return sum(len(word) for word in words if re.search(rf"\b{word}", lowered))


def _score(row: dict, text: str, lowered: str, everyday: list[tuple[str, str]]) -> int:
    if row["name"] in text or row["sku"].lower() in lowered or (row["name_en"] and row["name_en"].lower() in lowered):
        return 1000
    parts = [part for part in _SIZE.sub(" ", row["name"]).split() if part]
    score = sum(_part_score(part, text) for part in parts) + _english_score(row, lowered)
    for word, fragment in everyday:
        if fragment == f"category:{row['category']}" or (
            not fragment.startswith("category:") and fragment in row["name"]
        ):
            score += len(word)
    return score


def products_meant(products: list[dict], text: str) -> list[dict]:
    """The products the text names best (several when it names them equally well, as おにぎり does), or []."""
    lowered = text.lower()
    everyday = [
        (word, fragment) for word, fragments in EVERYDAY_WORDS.items() if word in text for fragment in fragments
    ]
    scored = [(_score(row, text, lowered, everyday), row) for row in products]
    best = max((score for score, _row in scored), default=0)
    return [row for score, row in scored if best and score == best]


def purchase_lines(products: list[dict], text: str) -> list[tuple[dict, int]]:
    """For an order of several products (コーラ1本と緑茶2本), each product with the quantity said beside it; [] when
    the text names fewer than two."""
    pieces = re.split(r"と|、|,|&|\band\b", text)
    lines = [
        (meant[0], quantity_ja(piece) or 1) for piece in pieces if len(meant := products_meant(products, piece)) == 1
    ]
    return lines if len(lines) > 1 else []


def allergen_asked(text: str, product: dict) -> str:
    """The allergen the customer names (小麦, 卵, milk, ...), longest name first, or "". The product's own name is
    left out first: たまごサンド names a sandwich, not the allergen asked about."""
    lowered = text.lower()
    for name in (product.get("name", ""), product.get("name_en", "")):
        if name:
            text, lowered = text.replace(name, " "), lowered.replace(name.lower(), " ")
    words = sorted([*allergens.ALL, *allergens.SYNONYMS], key=len, reverse=True)
    return next((word for word in words if word in text or (word.isascii() and word in lowered)), "")


def allergen_answer(label: dict, language: str) -> tuple[str, dict]:
    """The template and values answering from the tool's label data alone."""
    name = label.get("name", "") if language == "ja" else (label.get("name_en") or label.get("name", ""))
    if not label.get("labelled"):
        return ("allergen_unknown", {"product": name})
    if "contains" in label:
        key = "allergen_contains" if label["contains"] else "allergen_free"
        return (key, {"product": name, "allergen": label["allergen"]})
    found = label.get("allergens") or []
    if not found:
        return ("allergen_none", {"product": name})
    return ("allergen_list", {"product": name, "allergens": "、".join(found) if language == "ja" else ", ".join(found)})
