"""Request bodies within bounds: JSON larger than DATA_UPLOAD_MAX_MEMORY_SIZE answers 413 and JSON nested deeper than
MAX_JSON_DEPTH answers 400, before anything recursive (the decoder, serializers, the log redaction) sees it."""

import json
import re
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser, get_encoding
from rest_framework.utils.json import strict_constant

from apps.core.errors import PayloadTooLarge

MAX_JSON_DEPTH = 64

_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


class JSONTooDeep(ValueError):
    pass


def json_loads_bounded(text: str | bytes, *, parse_constant=None, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """`json.loads`, refusing (JSONTooDeep, a ValueError) arrays and objects nested deeper than `max_depth`.

    The depth is counted in one pass over the brackets outside strings, without recursion, so a body of thousands of
    `[` costs a loop, not a RecursionError. Malformed text is left for `json.loads` to refuse."""
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    depth = 0
    for bracket in _NOT_BRACKET.sub("", _STRING.sub("", text)):
        depth += 1 if bracket in "[{" else -1
        if depth > max_depth:
            raise JSONTooDeep(_("JSON の入れ子が深すぎます（最大 %(max)d 段）。") % {"max": max_depth})
    return json.loads(text, parse_constant=parse_constant)


def payload_too_large() -> PayloadTooLarge:
    return PayloadTooLarge(
        _("送信データが大きすぎます（最大 %(max)d バイト）。") % {"max": settings.DATA_UPLOAD_MAX_MEMORY_SIZE},
        details={"max_bytes": settings.DATA_UPLOAD_MAX_MEMORY_SIZE},
    )


class BoundedJSONParser(JSONParser):
    """DRF's JSON parser with a size limit (413) and a depth limit (400); the API's default parser."""

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raw = stream.read() if limit is None else stream.read(limit + 1)
        if limit is not None and len(raw) > limit:
            raise payload_too_large()
        parse_constant = strict_constant if self.strict else None
        try:
            return json_loads_bounded(raw.decode(get_encoding(parser_context or {})), parse_constant=parse_constant)
        except JSONTooDeep as exc:
            raise ParseError(str(exc)) from exc
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc
