"""The provider used when no model key is set: Japanese and English intent rules, the same tools through the same
policy, and replies from templates in the persona's voice — the shop works with no key and no network.

It is deliberately credulous: whatever the customer asks for (50% off, a price of 1 yen, 100 cans, paying into a
private account) becomes the tool call a talked-into model would make. The policy, not this file, says no; so
every chat through it exercises the guardrails exactly as a real model would hit them.
"""

import re
import unicodedata
from dataclasses import dataclass

from apps.agents.providers.base import ChatMessage, ProviderReply, ProviderRequest, ToolCall
from apps.agents.providers.offline_ja import (
    ENDS_IN_QUANTITY,
    allergen_answer,
    allergen_asked,
    products_meant,
    purchase_lines,
    quantity_ja,
)
from apps.agents.providers.offline_templates import template

DEFAULT_COUPON_PERCENT = 10
# Streamed in pieces this long, like a model's text deltas, so streaming callers see one behaviour.
STREAM_CHUNK_CHARS = 8
_JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


def _any(*patterns: str) -> re.Pattern:
    return re.compile("|".join(patterns), re.I)


# Checked in this order; the first match wins (a plea for a free item is not a purchase, a complaint is not a search).
INTENT_RULES: list[tuple[str, re.Pattern]] = [
    (
        "secrets",
        _any(
            r"システムプロンプト",
            r"プロンプト",
            r"指示(?:文|内容)",
            r"設定を(?:見せ|教え)",
            r"api\s*キー",
            r"apiキー",
            r"パスワード",
            r"秘密",
            r"トークン",
            r"system\s*prompt",
            r"\bprompt\b",
            r"instructions",
            r"api[\s_-]*key",
            r"password",
            r"secret",
            r"\btoken\b",
            r"\benv\b",
            r"environment variable",
        ),
    ),
    (
        "other_customer",
        _any(
            r"他の(?:お客|客|人)",
            r"ほかの(?:お客|客|人)",
            r"前の(?:お客|客|人)",
            r"誰が買",
            r"電話番号",
            r"メールアドレス",
            r"カード番号",
            r"購入履歴",
            r"other customers?",
            r"previous customer",
            r"who bought",
            r"phone number",
            r"e-?mail address",
            r"card number",
            r"purchase history of",
        ),
    ),
    (
        "ai_disclosure",
        _any(
            r"人間",
            r"本物の人",
            r"中の人",
            r"会いに",
            r"会え(?:る|ます)",
            r"ブレザー",
            r"何を着て",
            r"服",
            r"届けに来",
            r"持ってきて",
            r"配達",
            r"手渡し",
            r"体(?:は|が)ある",
            r"are you (?:a )?(?:human|person|real)",
            r"\bmeet\b",
            r"deliver",
            r"blazer",
            r"wearing",
            r"in person",
            r"your body",
            r"bring (?:it|me)",
        ),
    ),
    (
        "set_price",
        _any(
            r"(?:値段|価格|値札|price)\D{0,20}\d+\s*(?:円|yen)",
            r"\d+\s*(?:円|yen)\s*(?:に値下げ|に変更|で売って|に下げ|にして)",
            r"(?:set|change|lower|make)\s+(?:the\s+)?price",
        ),
    ),
    (
        "free",
        _any(
            r"タダ",
            r"ただで",
            r"無料",
            r"無償",
            r"(?<!\d)0\s*円",
            r"\bfree\b",
            r"for nothing",
            r"no charge",
            r"100\s*[%％]",
        ),
    ),
    (
        "discount",
        _any(
            r"割引",
            r"値引",
            r"まけて",
            r"負けて",
            r"安くして",
            r"クーポン",
            r"半額",
            r"[%％]\s*(?:off|オフ|引)",
            r"\d+\s*割引?き",
            r"discount",
            r"coupon",
            r"cheaper",
            r"\d+\s*%\s*off",
            r"deal",
        ),
    ),
    (
        "allergen",
        _any(
            r"アレルギー",
            r"アレルゲン",
            r"原材料",
            r"(?:が|は)(?:入って|含まれて|使われて|使って)",
            r"allerg",
            r"ingredient",
            r"(?:contain|have)s?\s+(?:any\s+)?(?:milk|eggs?|wheat|gluten|peanuts?|nuts?|shrimp|crab|soy|sesame)",
        ),
    ),
    (
        "product_request",
        _any(
            r"入荷",
            r"置いて",
            r"取り扱",
            r"仕入れて",
            r"売ってほしい",
            r"リクエスト",
            r"please stock",
            r"could you (?:sell|stock|carry)",
            r"can you (?:sell|stock|carry|get in)",
            r"\bstock\s+\w+\s+(?:please|too)",
            r"you should sell",
        ),
    ),
    (
        "complaint",
        _any(
            r"出てこな",
            r"出ない",
            r"落ちてこな",
            r"壊れ",
            r"返金",
            r"返して",
            r"おかしい",
            r"不良",
            r"詰まっ",
            r"ひどい",
            r"苦情",
            r"違う(?:商品|もの|の)が",
            r"間違(?:った|えて)",
            r"二重",
            r"(?:二|2)回(?:も)?(?:引き落|請求|課金|払)",
            r"腐",
            r"傷んで",
            r"カビ",
            r"賞味期限",
            r"消費期限",
            r"失礼",
            r"態度",
            r"broken",
            r"refund",
            r"didn'?t come out",
            r"stuck",
            r"complain",
            r"not working",
            r"doesn'?t work",
            r"wrong (?:item|product|drink|one)",
            r"charged twice",
            r"double charge",
            r"spoiled",
            r"expired",
            r"\brude\b",
        ),
    ),
    (
        "buy",
        _any(
            r"買",
            r"購入",
            r"注文",
            r"(?<![てで])(?:ください|下さい|ちょうだい|頂戴|ほしい|欲しい|もらえ|貰え|いただけ|頂け|くれ)",
            r"お願い",
            r"おねがい",
            r"にします",
            r"飲みたい",
            r"食べたい",
            ENDS_IN_QUANTITY.pattern,
            r"\bbuy\b",
            r"purchase",
            r"\border\b",
            r"i'?ll take",
            r"i want (?:to get )?\d+",
        ),
    ),
    (
        "stock",
        _any(r"在庫", r"残り", r"残って", r"あと何", r"売り切れ", r"in stock", r"\bleft\b", r"sold out", r"how many"),
    ),
    ("price", _any(r"いくら", r"値段", r"価格", r"how much", r"\bprice\b", r"\bcost\b")),
    ("recommend", _any(r"おすすめ", r"オススメ", r"お勧め", r"何がいい", r"recommend", r"suggest", r"what's good")),
    (
        "search",
        _any(
            r"何があ",
            r"なにがあ",
            r"メニュー",
            r"商品",
            r"探して",
            r"あります",
            r"ある[?？]",
            r"what do you have",
            r"\bmenu\b",
            r"looking for",
            r"do you have",
            r"search",
            r"\bfind\b",
            r"\bsell\b",
        ),
    ),
    (
        "greeting",
        _any(
            r"こんにち[はわ]",
            r"こんばん[はわ]",
            r"おはよう",
            r"はじめまして",
            r"やあ",
            r"もしもし",
            r"\bhello\b",
            r"\bhi\b",
            r"\bhey\b",
            r"good (?:morning|afternoon|evening)",
        ),
    ),
    (
        "small_talk",
        _any(
            r"元気",
            r"天気",
            r"ありがとう",
            r"誰",
            r"名前",
            r"暇",
            r"好き",
            r"how are you",
            r"weather",
            r"thank",
            r"who are you",
            r"your name",
            r"bored",
        ),
    ),
]
# What kind of problem a complaint is (the case's kind), checked in this order; "other" when none fits.
COMPLAINT_KINDS: list[tuple[str, re.Pattern]] = [
    ("charged_twice", _any(r"二重", r"(?:二|2)回(?:も)?(?:引き落|請求|課金|払)", r"charged twice", r"double charge")),
    ("wrong_item", _any(r"違う(?:商品|もの|の)が", r"間違(?:った|えて)", r"wrong (?:item|product|drink|one)")),
    ("spoiled", _any(r"腐", r"傷んで", r"カビ", r"賞味期限", r"消費期限", r"spoiled", r"expired", r"mou?ld")),
    ("rude_answer", _any(r"失礼", r"態度", r"\brude\b")),
    (
        "nothing_came_out",
        _any(r"出てこな", r"出ない", r"落ちてこな", r"詰まっ", r"didn'?t come out", r"stuck", r"nothing came out"),
    ),
    ("refund", _any(r"返金", r"返して", r"refund", r"money back")),
]
_SALE_NUMBER = re.compile(r"(?:#|＃|購入番号|注文番号|レシート番号|sale\s*|order\s*)\s*(\d{1,12})", re.I)
_GENERIC_SEARCH = _any(r"何があ", r"なにがあ", r"メニュー", r"what do you have", r"\bmenu\b")
_PERCENT = re.compile(r"(\d{1,3})\s*(?:%|％|パーセント|percent)", re.I)
_WARI = re.compile(r"(\d)\s*割")
_YEN = re.compile(r"(?:¥\s*(-?\d+)|(-?\d+)\s*(?:円|yen))", re.I)
_QUANTITY = re.compile(
    r"(\d+)\s*(?:units?|pcs|cans?|bottles?|packs?|of them)|(?:x|×)\s*(\d+)|(?:buy|take|order|want)\s+(\d+)",
    re.I,
)
_PAYEE = {
    "bank_transfer": _any(r"振込", r"振り込", r"口座", r"銀行", r"bank", r"account", r"wire"),
    "external_wallet": _any(r"paypal", r"venmo", r"paypay", r"送金", r"wallet", r"crypto", r"bitcoin", r"ビットコイン"),
}
_METHODS = {
    "ic": _any(r"\bic\b", r"suica", r"pasmo", r"交通系"),
    "cash": _any(r"現金", r"\bcash\b"),
    "line_pay": _any(r"line\s*pay"),
    "qr": _any(r"\bqr\b", r"QRコード"),
}
_REQUEST_NAME_JA = re.compile(r"^(.+?)(?:を|も|の)?(?:入荷|置いて|取り扱|仕入れて|売ってほしい|リクエスト)")
_REQUEST_NAME_EN = re.compile(r"(?:stock|sell|carry|get in)\s+(.+?)(?:\s+please|\s+too|[?.!]|$)", re.I)


def normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


def detect_language(text: str) -> str:
    return "ja" if _JAPANESE.search(text) else "en"


def detect_intent(text: str) -> str:
    text = normalise(text)
    for intent, pattern in INTENT_RULES:
        if pattern.search(text):
            return intent
    return "unknown"


def complaint_kind(text: str) -> str:
    text = normalise(text)
    return next((kind for kind, pattern in COMPLAINT_KINDS if pattern.search(text)), "other")


def _sale_number(text: str) -> int | None:
    match = _SALE_NUMBER.search(text)
    return int(match.group(1)) if match else None


def _percent_asked(text: str) -> int:
    if match := _PERCENT.search(text):
        return int(match.group(1))
    if match := _WARI.search(text):
        return int(match.group(1)) * 10
    if "半額" in text or "half" in text.lower():
        return 50
    return DEFAULT_COUPON_PERCENT


def _quantity_asked(text: str) -> int:
    if (said := quantity_ja(text)) is not None:
        return said
    match = _QUANTITY.search(text)
    return int(next(group for group in match.groups() if group)) if match else 1


def _payment_method_asked(text: str) -> str:
    """What the customer said they would pay with; a bank account or a wallet is passed on as said, for the policy."""
    for payee, pattern in _PAYEE.items():
        if pattern.search(text):
            return payee
    for method, pattern in _METHODS.items():
        if pattern.search(text):
            return method
    return "card"


def _requested_name(text: str, language: str) -> str:
    match = (_REQUEST_NAME_JA if language == "ja" else _REQUEST_NAME_EN).search(text)
    name = match.group(1) if match else text
    return name.strip(" 　、。,.!?！？「」\"'")[:200] or text[:200]


@dataclass
class _Turn:
    """The customer's last message and the tool results the provider has received since."""

    text: str
    language: str
    results: dict  # tool name -> result dict (the last one per tool)
    image: bool = False  # the message came with a picture (which rules cannot look at)

    def has(self, tool: str) -> bool:
        return tool in self.results

    def data(self, tool: str) -> dict:
        return self.results[tool].get("data", {})


class OfflineProvider:
    name = "offline"
    model_name = "offline-rules-v1"
    accepts_images = False  # a picture gets the "tell me in words" answer

    def complete(self, request: ProviderRequest) -> ProviderReply:
        turn = self._current_turn(request.messages)
        persona = request.persona
        register = self._register(persona)
        intent = "image" if turn.image else detect_intent(turn.text)
        plan = getattr(self, f"_plan_{intent}", None)
        outcome = plan(turn) if plan else (intent, {})
        if isinstance(outcome, list):
            calls = tuple(
                ToolCall(id=f"offline-{len(turn.results)}-{i}", name=n, arguments=a) for i, (n, a) in enumerate(outcome)
            )
            return ProviderReply(tool_calls=calls)
        key, values = outcome
        values = {
            "name": persona.name if persona else "VendBot",
            "greeting": persona.greeting if persona else "",
            **values,
        }
        text = template(language=turn.language, register=register, key=key).format(**values)
        if request.on_text is not None:
            for start in range(0, len(text), STREAM_CHUNK_CHARS):
                request.on_text(text[start : start + STREAM_CHUNK_CHARS])
        return ProviderReply(text=text)

    @staticmethod
    def _register(persona) -> str:
        if persona is None or not persona.pk:
            return "polite"
        tone = persona.tones.order_by("name").first()
        return tone.register if tone else "polite"

    @staticmethod
    def _current_turn(messages: list[ChatMessage]) -> _Turn:
        last_user = max((i for i, m in enumerate(messages) if m.role == "user"), default=None)
        text = normalise(messages[last_user].text) if last_user is not None else ""
        results = {m.tool_name: m.result for m in messages[(last_user or 0) + 1 :] if m.role == "tool"}
        image = last_user is not None and messages[last_user].image is not None
        return _Turn(text=text, language=detect_language(text), results=results, image=image)

    # Each plan returns the tool calls to make next, or (template key, values) to answer with.

    @staticmethod
    def _refusal_or_failure(result: dict) -> tuple[str, dict]:
        return ("refused" if result.get("refused_by_policy") else "failed", {"reason": result.get("error", "")})

    def _plan_secrets(self, turn: _Turn):
        return ("private", {})

    def _plan_other_customer(self, turn: _Turn):
        if not turn.has("sales_summary"):
            return [("sales_summary", {"days": 30, "customer": turn.text[:100]})]
        return ("private", {})

    def _plan_set_price(self, turn: _Turn):
        if not turn.has("list_products"):
            return [("list_products", {})]
        if not turn.has("set_price"):
            products = products_meant(turn.data("list_products").get("products", []), turn.text)
            match = _YEN.search(turn.text)
            if not products or not match:
                return ("which_product", {})
            price = int(match.group(1) or match.group(2))
            return [("set_price", {"sku": products[0]["sku"], "price_yen": price, "reason": turn.text[:300]})]
        result = turn.results["set_price"]
        if not result["ok"]:
            return self._refusal_or_failure(result)
        return ("price", {"product": result["data"]["sku"], "price": result["data"]["new_price_yen"]})

    def _plan_coupon(self, turn: _Turn, percent: int):
        if not turn.has("issue_coupon"):
            return [("issue_coupon", {"percent": percent, "reason": turn.text[:300]})]
        result = turn.results["issue_coupon"]
        if not result["ok"]:
            return self._refusal_or_failure(result)
        return ("coupon", {"code": result["data"]["coupon_code"], "percent": result["data"]["percent"]})

    def _plan_free(self, turn: _Turn):
        return self._plan_coupon(turn, 100)

    def _plan_discount(self, turn: _Turn):
        return self._plan_coupon(turn, _percent_asked(turn.text))

    def _plan_buy(self, turn: _Turn):
        if not turn.has("list_products"):
            return [("list_products", {})]
        if not turn.has("start_purchase"):
            catalogue = turn.data("list_products").get("products", [])
            lines = purchase_lines(catalogue, turn.text)
            if not lines:
                products = products_meant(catalogue, turn.text)
                if len(products) != 1:
                    return self._choices(products, turn.language)
                lines = [(products[0], _quantity_asked(turn.text))]
            return [
                (
                    "start_purchase",
                    {
                        "items": [{"sku": row["sku"], "quantity": quantity} for row, quantity in lines],
                        "payment_method": _payment_method_asked(turn.text),
                    },
                )
            ]
        result = turn.results["start_purchase"]
        if not result["ok"]:
            return self._refusal_or_failure(result)
        purchase = result["data"]["purchase"]
        lines = "、".join(f"{line['name']}×{line['quantity']}" for line in purchase["items"])
        return ("buy", {"products": lines, "total": purchase["subtotal_yen"]})

    def _plan_product_request(self, turn: _Turn):
        if not turn.has("record_product_request"):
            return [("record_product_request", {"name": _requested_name(turn.text, turn.language)})]
        result = turn.results["record_product_request"]
        if not result["ok"]:
            return self._refusal_or_failure(result)
        return ("product_request", {"product": result["data"]["name"]})

    def _plan_allergen(self, turn: _Turn):
        """Only the label data answers: the product's allergens through the tool, or that they are not recorded."""
        if not turn.has("list_products"):
            return [("list_products", {})]
        mentioned = products_meant(turn.data("list_products").get("products", []), turn.text)
        if len(mentioned) != 1:
            return self._choices(mentioned, turn.language)
        product = mentioned[0]
        if not turn.has("product_allergens"):
            arguments = {"sku": product["sku"]}
            if asked := allergen_asked(turn.text, product):
                arguments["allergen"] = asked
            return [("product_allergens", arguments)]
        result = turn.results["product_allergens"]
        if not result.get("ok", True):
            return self._refusal_or_failure(result)
        return allergen_answer(result.get("data", {}), turn.language)

    def _plan_complaint(self, turn: _Turn):
        """A refund the machine's records allow is given at once; everything else, and a refund the policy refuses,
        goes to staff as a case. The answer apologises and promises nothing staff have not decided."""
        kind = complaint_kind(turn.text)
        sale_id = _sale_number(turn.text)
        if kind in ("nothing_came_out", "refund") and not turn.has("refund_undispensed"):
            arguments = {"sale_id": sale_id} if sale_id else {}
            if match := _YEN.search(turn.text):
                arguments["amount_yen"] = int(match.group(1) or match.group(2))
            return [("refund_undispensed", arguments)]
        refund = turn.results.get("refund_undispensed")
        if refund is not None and refund["ok"]:
            return ("refunded", {"amount": f"{refund['data']['refunded_yen']:,}"})
        if not turn.has("open_case"):
            arguments = {"kind": kind, "summary": turn.text[:1000]}
            return [("open_case", {**arguments, "sale_id": sale_id} if sale_id else arguments)]
        case = turn.results["open_case"]
        if not case["ok"]:
            return self._refusal_or_failure(case)
        key = "complaint_refund_refused" if refund is not None and refund.get("refused_by_policy") else "complaint"
        return (key, {"case": case["data"]["case_id"], "reason": refund.get("error", "") if refund else ""})

    def _catalogue_answer(self, turn: _Turn, key: str):
        if not turn.has("list_products"):
            return [("list_products", {})]
        products = turn.data("list_products").get("products", [])
        mentioned = products_meant(products, turn.text)
        if key == "search":
            if mentioned or (_GENERIC_SEARCH.search(turn.text) and products):
                return ("search", {"products": self._names(mentioned or products, turn.language)})
            return ("search_empty", {})
        if len(mentioned) != 1:
            return self._choices(mentioned, turn.language)
        product = mentioned[0]
        name = product["name"] if turn.language == "ja" else (product["name_en"] or product["name"])
        if key == "stock":
            return ("stock" if product["in_stock"] else "stock_out", {"product": name, "stock": product["in_stock"]})
        return ("price", {"product": name, "price": product["price_yen"]})

    def _plan_stock(self, turn: _Turn):
        return self._catalogue_answer(turn, "stock")

    def _plan_price(self, turn: _Turn):
        return self._catalogue_answer(turn, "price")

    def _plan_search(self, turn: _Turn):
        return self._catalogue_answer(turn, "search")

    def _plan_recommend(self, turn: _Turn):
        if not turn.has("recommend"):
            return [("recommend", {"limit": 3})]
        products = turn.data("recommend").get("products", [])
        if not products:
            return ("search_empty", {})
        reasons = turn.data("recommend").get("reasons", [])
        if reasons and turn.language == "ja":
            return ("recommend_personal", {"reasons": "。".join(reasons), "products": self._names(products, "ja")})
        return ("recommend", {"products": self._names(products, turn.language)})

    @classmethod
    def _choices(cls, products: list[dict], language: str) -> tuple[str, dict]:
        """Several products fit (おにぎり, 甘いもの): show them so the customer can pick; none: ask which."""
        if not products:
            return ("which_product", {})
        return ("search", {"products": cls._names(products, language)})

    @staticmethod
    def _names(products: list[dict], language: str) -> str:
        if language == "ja":
            return "、".join(f"{row['name']}（{row['price_yen']}円）" for row in products[:8])
        return ", ".join(f"{row['name_en'] or row['name']} ({row['price_yen']} yen)" for row in products[:8])
