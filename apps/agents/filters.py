"""Filters on every reply before it leaves the shop: no claim of being a person or of having a body, no phone number,
e-mail address, card number or key (the same patterns that keep them out of our logs), and no word on what a product
contains for an allergic customer unless the turn read it from the products' label data."""

import re

import regex
from django.utils.translation import gettext as _

from apps.core.logging import REDACTED_PATTERNS, redact_text
from apps.inventory import allergens

# Sentences in which the assistant claims to be a person or to be (or go) somewhere in the flesh.
_HUMAN_CLAIM_PATTERNS = (
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
_HUMAN_CLAIM = regex.compile("|".join(_HUMAN_CLAIM_PATTERNS), regex.I)


# A sentence about whether a product holds an allergen: an allergen's name (or what customers call it) with a word
# saying it is in, not in, or safe. Said without the label data (the `product_allergens` tool), it is a guess.
_ALLERGEN_NAMES = sorted({*allergens.ALL, *allergens.SYNONYMS}, key=len, reverse=True)
_ALLERGEN = regex.compile("|".join(regex.escape(name) for name in _ALLERGEN_NAMES), regex.I)
_ALLERGEN_ASSERTION = regex.compile(
    r"入って|入り|含ま|含み|含有|使って|使用|不使用|フリー|アレルゲン|アレルギー|大丈夫|安心|なし|無し"
    r"|\bfree\b|contain|\bwithout\b|\bsafe\b|\ballerg",
    regex.I,
)


def _scoped(pattern: re.Pattern) -> str:
    """A `re` pattern as a group of the `regex` module carrying its own flags, to join with others."""
    flags = "".join(
        letter
        for flag, letter in ((re.A, "a"), (re.I, "i"), (re.M, "m"), (re.S, "s"), (re.X, "x"))
        if pattern.flags & flag
    )
    return f"(?{flags}:{pattern.pattern})" if flags else f"(?:{pattern.pattern})"


# Where a claim, a secret or an allergen's name begins: streamed text is held back from the first place this matches
# or could still match (an allergen's name until its sentence is complete, when the guess rule can judge it).
_HELD = regex.compile(
    "|".join(
        [f"(?i:{source})" for source in _HUMAN_CLAIM_PATTERNS]
        + [_scoped(p) for p in REDACTED_PATTERNS]
        + [f"(?i:{_ALLERGEN.pattern})"]
    )
)


def _held_from(text: str, pos: int, *, settle: bool) -> int:
    """The first place at or after `pos` where a claim or a secret matches or could match once more text arrives.

    With `settle`, complete matches that more text can no longer change are passed over: only the first one still
    open (a partial match, or a match reaching the end) counts. `len(text)` when there is none.
    """
    while True:
        found = _HELD.search(text, pos, partial=True)  # there is always one: at worst the empty partial at the end
        start = found.start()
        if not found.partial:
            # The regex module prefers a complete match anywhere to an earlier partial one: look before it again.
            start = _HELD.search(text, pos, start, partial=True).start()
        if not settle or start < found.start() or found.partial or found.end() == len(text):
            return start
        pos = found.end()


def _allergen_notice(language: str) -> str:
    if language == "en":
        return (
            "I only answer allergen questions from the product's label data: please ask me about the product by name."
        )
    return _("アレルゲンは商品の表示データでだけお答えしています。商品名を添えてお尋ねください。")


def _ai_disclosure(language: str) -> str:
    if language == "en":
        return "I'm the shop's AI assistant, so I can't meet you or hand anything over myself."
    return _("わたしはこのお店のAIアシスタントなので、直接お会いしたりお渡ししたりはできません。")


class ReplyStream:
    """The reply filter applied while a model's text arrives, releasing each piece as soon as no rule could still take
    it back, so nothing unfiltered ever leaves, not even for a moment.

    `feed` takes raw text and returns the filtered pieces ready to send; `finish` returns the rest. The pieces joined
    are the whole reply (`text`): sentences claiming a human or a body are dropped (one honest line is added at the
    end; a sentence whose start has already gone out ends with that line instead of the claim), personal data and keys
    are masked, and a sentence recited from the system prompt stops the reply. Text is held back from the first place a
    claim or a secret matches or could still match, and a whole sentence while it could still become a recited one.
    """

    # A sentence is complete at its end mark once something else follows, or at a newline.
    _COMPLETE = re.compile(r"[^\n]*?(?:[。！？!?]+(?=[^。！？!?])|\.(?=\s))|[^\n]*\n")
    # Text held back this long is settled as if its sentence ended there, so one long sentence does not stall the
    # stream; only a match that more text could still change stays held.
    _MAX_PENDING = 400
    # Prompt sentences at least this long never appear in a reply (a model asked to recite its prompt).
    _PROMPT_SENTENCE_MIN_LENGTH = 12
    # A sentence cut short at a claim reads on into the honest line after these; after anything else, "…" comes first.
    _CLAUSE_ENDS = ("、", ",", "，", ":", "：", ";")

    def __init__(self, *, language: str = "ja", prompt: str = ""):
        self.language = language
        self.removed: list[str] = []
        self.parts: list[str] = []
        self._prompt = prompt
        self._pending = ""  # the unfinished sentence, raw
        self._released = 0  # how much of it (after its leading whitespace) has been sent
        self._gap = ""  # whitespace after the last sentence sent: sent only if another sentence follows
        self._owed: dict[str, str] = {}  # the line each withheld kind of sentence ends the reply with
        self._told: set[str] = set()  # kinds whose line has been sent
        # Set by the runtime once the turn has read label data (the `product_allergens` tool answered): from then on
        # the reply may say what a product contains.
        self.allergen_data = False
        self._stopped = False

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def feed(self, text: str) -> list[str]:
        self._pending += text
        return self._settle(final=False)

    def finish(self, text: str = "") -> list[str]:
        """The pieces left once the reply ends with `text`."""
        self._pending += text
        out = self._settle(final=True)
        for kind, line in self._owed.items():
            if kind in self._told or self._stopped:
                continue
            joiner = (
                "" if not self.parts else "\n" if self._gap.endswith("\n") else " " if self.language == "en" else ""
            )
            out.append(self._send(joiner + line))
            self._told.add(kind)
        return out

    def _settle(self, *, final: bool) -> list[str]:
        out: list[str] = []
        while not self._stopped:
            match = self._COMPLETE.match(self._pending)
            if match is not None:
                sentence, self._pending = match.group(), self._pending[match.end() :]
            elif final:
                sentence, self._pending = self._pending, ""
                if not sentence:
                    break
            else:
                out.extend(self._release())
                cut = self._overlong_cut()
                if not cut:
                    break
                sentence, self._pending = self._pending[:cut], self._pending[cut:]
            out.extend(self._sentence(sentence))
        return out

    def _release(self) -> list[str]:
        """Send what no rule could still take back of the unfinished sentence."""
        text = self._pending.lstrip()
        if not self._released and text.strip() in self._prompt:
            return []  # it could still become a recited line of the prompt
        # Trailing whitespace waits for the next word: the reply does not end in it.
        safe = min(_held_from(text, self._released, settle=False), len(text.rstrip()))
        if safe <= self._released:
            return []
        piece = text[self._released : safe]
        if not self._released:
            piece = self._opening(self._pending[: len(self._pending) - len(text)]) + piece
        self._released = safe
        return [self._send(piece)]

    def _overlong_cut(self) -> int:
        """How much of the unfinished sentence to settle now because so much of it is held back (0: none)."""
        text = self._pending.lstrip()
        if len(text) - self._released < self._MAX_PENDING:
            return 0
        cut = _held_from(text, self._released, settle=True)
        return len(self._pending) - len(text) + cut if cut > self._released else 0

    def _withhold(self, kind: str, line: str, body: str, released: int, trailing: str) -> list[str]:
        """Drop the sentence (`line` ends the reply, once), or, when its start is out already (what it must not say
        comes later), end the sentence with `line` instead."""
        self._note(kind)
        self._owed.setdefault(kind, line)
        if not released:
            return []
        self._told.add(kind)
        self._gap = trailing
        clause_ended = body[:released].rstrip().endswith(self._CLAUSE_ENDS)
        joiner = "" if clause_ended else "… " if self.language == "en" else "…"
        return [self._send(joiner + line)]

    def _note(self, kind: str) -> None:
        if kind not in self.removed:
            self.removed.append(kind)

    def _send(self, piece: str) -> str:
        self.parts.append(piece)
        return piece

    def _opening(self, leading: str) -> str:
        """What goes before a sentence's first piece: the whitespace since the last sentence, none at the start."""
        opening, self._gap = (self._gap + leading if self.parts else ""), ""
        return opening

    def _sentence(self, sentence: str) -> list[str]:
        """The rest of a finished sentence, `_released` characters of which have been sent already."""
        body = sentence.strip()
        released, self._released = self._released, 0
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
        trailing = sentence[len(sentence.rstrip()) :]
        if _HUMAN_CLAIM.search(body):
            return self._withhold("human_claim", _ai_disclosure(self.language), body, released, trailing)
        if not self.allergen_data and _ALLERGEN.search(body) and _ALLERGEN_ASSERTION.search(body):
            return self._withhold("allergen_guess", _allergen_notice(self.language), body, released, trailing)
        masked = redact_text(body)
        if masked != body:
            self._note("personal_data_or_secret")
        # Nothing a pattern matches begins in what was sent, so masking leaves that part as it was.
        piece = (
            masked[released:]
            if released
            else self._opening(sentence[: len(sentence) - len(sentence.lstrip())]) + masked
        )
        self._gap = trailing
        return [self._send(piece)] if piece else []
