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


@dataclass
class FilteredReply:
    text: str
    removed: list[str] = field(default_factory=list)  # kinds of content taken out, for the decision log


def _ai_disclosure(language: str) -> str:
    if language == "en":
        return "I'm the shop's AI assistant, so I can't meet you or hand anything over myself."
    return _("わたしはこのお店のAIアシスタントなので、直接お会いしたりお渡ししたりはできません。")


class ReplyStream:
    """The reply filter applied sentence by sentence while a model's text arrives, so nothing unfiltered leaves.

    `feed` takes raw text and returns the filtered pieces ready to send; `finish` returns the rest. The pieces joined
    are the whole reply (`text`): sentences claiming a human or a body are dropped (one honest line is added at the
    end), personal data and keys are masked, and a sentence recited from the system prompt stops the reply.
    """

    # A sentence is complete at its end mark once something else follows, or at a newline.
    _COMPLETE = re.compile(r"[^\n]*?(?:[。！？!?]+(?=[^。！？!?])|\.(?=\s))|[^\n]*\n")
    # Text with no end mark is sent after this many characters anyway, so a long sentence does not stall the stream.
    _MAX_PENDING = 400
    # Prompt sentences at least this long never appear in a reply (a model asked to recite its prompt).
    _PROMPT_SENTENCE_MIN_LENGTH = 12

    def __init__(self, *, language: str = "ja", prompt: str = ""):
        self.language = language
        self.removed: list[str] = []
        self.parts: list[str] = []
        self._prompt = prompt
        self._pending = ""
        self._gap = ""  # whitespace after the last sentence sent: sent only if another sentence follows
        self._claimed = False
        self._stopped = False

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def feed(self, text: str) -> list[str]:
        self._pending += text
        out: list[str] = []
        while not self._stopped:
            match = self._COMPLETE.match(self._pending)
            if match is None or not match.group():
                if len(self._pending) < self._MAX_PENDING:
                    break
                sentence, self._pending = self._pending, ""
            else:
                sentence, self._pending = match.group(), self._pending[match.end() :]
            out.extend(self._sentence(sentence))
        return out

    def finish(self) -> list[str]:
        out = self._sentence(self._pending) if self._pending and not self._stopped else []
        self._pending = ""
        if self._claimed and not self._stopped:
            joiner = (
                "" if not self.parts else "\n" if self._gap.endswith("\n") else " " if self.language == "en" else ""
            )
            out.append(self._send(joiner + _ai_disclosure(self.language)))
        return out

    def _note(self, kind: str) -> None:
        if kind not in self.removed:
            self.removed.append(kind)

    def _send(self, piece: str) -> str:
        self.parts.append(piece)
        return piece

    def _sentence(self, sentence: str) -> list[str]:
        body = sentence.strip()
        if not body:
            self._gap += sentence if self.parts else ""
            return []
        if len(body) >= self._PROMPT_SENTENCE_MIN_LENGTH and body in self._prompt:
            self._note("system_prompt")
            self._stopped = True
            refusal = (
                _("申し訳ございません、お店の設定はお伝えできません。")
                if self.language == "ja"
                else "Sorry, I can't share the shop's settings."
            )
            return [self._send(("\n" if self.parts else "") + refusal)]
        if any(pattern.search(body) for pattern in _HUMAN_CLAIMS):
            self._note("human_claim")
            self._claimed = True
            return []
        masked = redact_text(body)
        if masked != body:
            self._note("personal_data_or_secret")
        leading = sentence[: len(sentence) - len(sentence.lstrip())]
        piece = (self._gap + leading if self.parts else "") + masked
        self._gap = sentence[len(sentence.rstrip()) :]
        return [self._send(piece)]


def reply_filter(text: str, *, language: str = "ja", prompt: str = "") -> FilteredReply:
    """The whole reply through `ReplyStream` at once."""
    stream = ReplyStream(language=language, prompt=prompt)
    stream.feed(text)
    stream.finish()
    return FilteredReply(text=stream.text, removed=stream.removed)
