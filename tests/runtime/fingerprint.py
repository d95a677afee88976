"""Prints, as JSON, what a restored backup must hold the same of: the trial balance, every slot's and storage
stock, the sales, and every conversation with its messages. The backup test runs it on the original database and on
the restored one (`DATABASE_URL=... python -m tests.runtime.fingerprint`) and compares."""

import json
import os


def fingerprint() -> dict:
    from django.utils import timezone

    from apps.accounting.selectors import trial_balance
    from apps.chats.models import Conversation, Message
    from apps.inventory.models import Sale, Slot, StorageStock
    from apps.inventory.selectors import stock_integrity_problems

    return {
        "trial_balance": trial_balance(as_of=timezone.localdate()).as_dict(),
        "slots": list(Slot.objects.order_by("machine__code", "code").values_list("machine__code", "code", "quantity")),
        "storage": list(StorageStock.objects.order_by("product__sku").values_list("product__sku", "quantity")),
        "sales": list(Sale.objects.order_by("pk").values_list("pk", "status", "total_yen")),
        "conversations": list(Conversation.objects.order_by("pk").values_list("pk", "channel")),
        "messages": list(Message.objects.order_by("pk").values_list("conversation_id", "sender", "text")),
        "stock_problems": [str(problem) for problem in stock_integrity_problems()],
    }


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vendbot.settings.base")
    import django

    django.setup()
    print(json.dumps(fingerprint(), ensure_ascii=False, default=str))
