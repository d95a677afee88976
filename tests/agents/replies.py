"""A whole reply through the live reply filter at once, for tests that check what a reply became."""

from apps.agents.filters import ReplyStream


def reply_filter(text: str, *, language: str = "ja", prompt: str = "") -> ReplyStream:
    """`ReplyStream` fed the whole text: its `text` is the filtered reply, its `removed` the kinds taken out."""
    stream = ReplyStream(language=language, prompt=prompt)
    stream.finish(text)
    return stream
