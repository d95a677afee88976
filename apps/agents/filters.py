"""Filters on every reply before it leaves the shop: no claim of being a person or of having a body, and no phone
number, e-mail address, card number or key (the same patterns that keep them out of our logs)."""

import re
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from apps.core.logging import redact_text

# Sentences in which the assistant claims to be a person or to be (or go) somewhere in the flesh.
_HUMAN_CLAIMS = [
    re.compile(pattern, re.I)
    for pattern in (
        r"\bI(?:'m| am)\s+(?:a\s+|an\s+)?(?:real\s+)?(?:human|person|man|woman|employee|staff member)\b",
        r"\bI(?:'m| am) not (?:an? )?(?:AI|bot|robot|program|language model)\b",
        r"\bI(?:'m| am)\s+(?:wearing|standing|sitting|waiting)\b",
        r"\bI(?:'ll| will)\s+(?:come|meet|deliver|bring|hand|walk|drive|be there|see you)\b",
        r"\b(?:my|in my)\s+(?:blazer|tie|uniform|jacket|body|hands?|office|desk)\b",
        r"(?:私|わたし|僕|ぼく|俺|あたし|うち)(?:は|も)?(?:本物の)?(?:人間|ひと|人|社員|従業員|店員|スタッフ)(?:です|だよ|だ|でございます)",
        r"(?:AI|ＡＩ|ロボット|ボット|プログラム)(?:では|じゃ)(?:ありません|ない)",
        r"(?:ブレザー|ネクタイ|制服|スーツ|ジャケット)(?:を)?(?:着て|着用)",
        r"(?:直接|じかに|手渡しで)(?:お渡し|届け|持って|会い|伺い)",
        r"(?:会いに|届けに|持って)(?:行き|いき|伺い|参り)",
        r"(?:そちらに|そっちに|お店に|店頭に)(?:行き|伺い|参り|立って|い)ます",
    )
]
_SENTENCE = re.compile(r"[^\n]+?(?:[。！？!?]+|\.(?=\s)|$)\s*|\n", re.M)


@dataclass
class FilteredReply:
    text: str
    removed: list[str] = field(default_factory=list)  # kinds of content taken out, for the decision log


def _ai_disclosure(language: str) -> str:
    if language == "en":
        return "I'm the shop's AI assistant, so I can't meet you or hand anything over myself."
    return _("わたしはこのお店のAIアシスタントなので、直接お会いしたりお渡ししたりはできません。")


def reply_filter(text: str, *, language: str = "ja") -> FilteredReply:
    """Drop sentences claiming a human or a body (adding one honest line instead), then mask personal data and keys."""
    removed: list[str] = []
    sentences = _SENTENCE.findall(text) or [text]
    kept = [sentence for sentence in sentences if not any(p.search(sentence) for p in _HUMAN_CLAIMS)]
    if len(kept) != len(sentences):
        removed.append("human_claim")
        kept.append(
            ("" if not kept or kept[-1].endswith("\n") else " " if language == "en" else "") + _ai_disclosure(language)
        )
    cleaned = "".join(kept).strip()
    masked = redact_text(cleaned)
    if masked != cleaned:
        removed.append("personal_data_or_secret")
    return FilteredReply(text=masked, removed=removed)
