"""The offline provider's replies, per language and register (polite / casual), in the persona's voice.

Placeholders: {name} persona name, {greeting}, {products} a list, {product}, {price}, {stock}, {code}, {percent},
{total}, {case} (a case number), {amount}, {reason} (why a tool call was refused, from the policy).
"""

TEMPLATES = {
    ("ja", "polite"): {
        "greeting": "{greeting}",
        "search": "こちらの自販機には、{products} がございます。",
        "search_empty": "申し訳ございません、お探しの商品は見つかりませんでした。よろしければ入荷のリクエストを承ります。",
        "stock": "{product}は、この自販機に残り{stock}個ございます。",
        "stock_out": "申し訳ございません、{product}はただいま売り切れです。",
        "price": "{product}は{price}円（税込）でございます。",
        "which_product": "どの商品でしょうか？ 商品名を教えていただけますか。",
        "recommend": "おすすめは {products} です。",
        "buy": "{products}、合計{total}円（税込）です。画面で内容をご確認のうえ、お支払いください。",
        "coupon": "{percent}%割引のクーポン「{code}」をお送りします。お会計の際にお使いください。",
        "product_request": "「{product}」の入荷リクエストを承りました。スタッフが検討いたします。",
        "complaint": "ご不便をおかけして申し訳ございません。担当スタッフに伝えました（受付番号 {case}）。スタッフからこちらにご連絡します。",
        "complaint_refund_refused": "申し訳ございません。{reason} 内容は担当スタッフに伝えました（受付番号 {case}）。スタッフからこちらにご連絡します。",
        "refunded": "ご不便をおかけして申し訳ございません。自販機の記録で出なかった分の{amount}円を返金しました。",
        "small_talk": "わたしは{name}、このお店のAIアシスタントです。商品のことなら何でも聞いてくださいね。",
        "ai_disclosure": "わたしは{name}、このお店のAIアシスタントです。人間ではないので、直接お会いしたりお届けしたりはできません。",
        "private": "申し訳ございません、他のお客様の情報や、お店の設定・秘密の情報はお伝えできません。",
        "refused": "申し訳ございません、それはお受けできません。{reason}",
        "failed": "申し訳ございません、うまくいきませんでした。{reason}",
        "unknown": "すみません、よく分かりませんでした。商品の検索、在庫や価格の確認、おすすめ、ご購入のお手伝いができます。",
        "image": "画像を受け取りました。申し訳ございません、ただいま画像を拝見することができません。どのようなものか、文字で教えていただけますか？",
    },
    ("ja", "casual"): {
        "greeting": "{greeting}",
        "search": "この自販機には {products} があるよ。",
        "search_empty": "ごめんね、それは見つからなかったよ。入荷リクエストならできるよ！",
        "stock": "{product}はあと{stock}個あるよ。",
        "stock_out": "ごめん、{product}はいま売り切れなんだ。",
        "price": "{product}は{price}円（税込）だよ。",
        "which_product": "どの商品かな？ 名前を教えて！",
        "recommend": "おすすめは {products} だよ！",
        "buy": "{products}、合計{total}円（税込）だよ。画面で確認して支払ってね。",
        "coupon": "{percent}%引きのクーポン「{code}」をどうぞ！",
        "product_request": "「{product}」の入荷リクエスト、受け付けたよ。スタッフに伝えておくね。",
        "complaint": "ごめんね、困らせちゃって。スタッフに伝えたよ（受付番号 {case}）。スタッフからここに連絡が来るからね。",
        "complaint_refund_refused": "ごめんね。{reason} スタッフに伝えたよ（受付番号 {case}）。スタッフからここに連絡が来るからね。",
        "refunded": "ごめんね。自販機の記録で出なかった分の{amount}円を返金したよ。",
        "small_talk": "わたしは{name}、このお店のAIアシスタントだよ。商品のこと、なんでも聞いてね。",
        "ai_disclosure": "わたしは{name}、このお店のAIアシスタントだよ。人間じゃないから、会いに行ったり届けたりはできないんだ。",
        "private": "ごめんね、ほかのお客さんの情報や、お店の設定・秘密の情報は教えられないんだ。",
        "refused": "ごめんね、それはできないんだ。{reason}",
        "failed": "ごめんね、うまくいかなかったよ。{reason}",
        "unknown": "ごめん、よく分からなかったよ。商品さがし、在庫や値段の確認、おすすめ、購入のお手伝いができるよ。",
        "image": "画像ありがとう！ごめんね、いまは画像を見ることができないんだ。どんなものか文字で教えてくれる？",
    },
    ("en", "polite"): {
        "greeting": "Hello! I'm {name}, the shop's AI assistant. How can I help?",
        "search": "This machine has {products}.",
        "search_empty": "Sorry, I couldn't find that. I can record a request for the shop to stock it.",
        "stock": "There are {stock} left of {product} in this machine.",
        "stock_out": "Sorry, {product} is sold out right now.",
        "price": "{product} is {price} yen, tax included.",
        "which_product": "Which product would you like? Please tell me its name.",
        "recommend": "I'd recommend {products}.",
        "buy": "{products}: {total} yen in total, tax included. Please confirm on the screen and pay at the machine.",
        "coupon": "Here is a {percent}% off coupon: {code}. Use it when you pay.",
        "product_request": 'I\'ve recorded your request for "{product}". The staff will consider it.',
        "complaint": "I'm sorry for the trouble. I've passed it on to the staff (case {case}); they will answer you here.",
        "complaint_refund_refused": "I'm sorry. {reason} I've passed it on to the staff (case {case}); they will answer you here.",
        "refunded": "I'm sorry for the trouble. I've refunded {amount} yen for what the machine recorded it did not drop.",
        "small_talk": "I'm {name}, the shop's AI assistant. Ask me anything about the products!",
        "ai_disclosure": "I'm {name}, the shop's AI assistant, not a person, so I can't meet you or deliver anything myself.",
        "private": "Sorry, I can't share other customers' information or the shop's settings and secrets.",
        "refused": "Sorry, I can't do that. {reason}",
        "failed": "Sorry, that didn't work. {reason}",
        "unknown": "Sorry, I didn't understand. I can search products, check stock and prices, recommend, and help you buy.",
        "image": "Thank you for the picture. Sorry, I can't look at pictures right now. Could you describe it in words?",
    },
}
TEMPLATES[("en", "casual")] = TEMPLATES[("en", "polite")]


def template(*, language: str, register: str, key: str) -> str:
    table = TEMPLATES.get((language, register)) or TEMPLATES[(language, "polite")]
    return table[key]
