"""Signals agents sends for apps above it (chats), so agents never imports them.

`case_opened` (with `case_id`) is sent after the commit that opened a customer-care case: chats tells staff on LINE.
`case_answered` (with `reply_id`) is sent after the commit that stored a staff answer: chats takes it to the customer
on their channel and records how it went (`apps.agents.services.case_reply_delivered`).
"""

import logging

from django.dispatch import Signal

logger = logging.getLogger(__name__)

case_opened = Signal()
case_answered = Signal()


def send_robust(signal: Signal, **kwargs) -> None:
    """Send after a commit; a receiver that fails is logged, never raised into the request that committed."""
    for receiver, answer in signal.send_robust(sender=None, **kwargs):
        if isinstance(answer, Exception):
            logger.error("%r receiver failed", receiver, exc_info=answer)
