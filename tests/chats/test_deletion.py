"""Deletion that deletes: a LINE customer with data in every place the shop keeps any, then 「データ削除」; every
model of the project is walked by introspection and no row may still name or quote them. A model that can point at
a customer, a conversation or a message (a foreign key, a `conversation_id`, a `customer_key`) must be listed here
with how deletion treats it, so a new one cannot be forgotten."""

import datetime
import re

import pytest
from django.apps import apps
from django.db import models
from django.db.models import Q
from django.utils import timezone
from rest_framework.test import APIClient

from apps.agents.models import AgentTurn, Case, GuardrailViolation
from apps.agents.services import case_answer, conversation_summary_store, tool_call
from apps.agents.tools.registry import ToolContext
from apps.chats.models import Conversation, Customer, MemberCode, Message
from apps.chats.services import line_user_hash, member_code_issue
from apps.dashboard.services import retention_cleanup
from apps.inventory.models import ProductRequest, Sale
from apps.inventory.services import device_token_issue
from tests.chats.test_line import USER, image_event, post_webhook, postback_event, text_event

WORDS = "ミカン星人"  # what only this customer said
NAME = "テスト花子"  # their LINE display name (the fake LINE profile's)
PROJECT_APPS = {"core", "accounting", "inventory", "agents", "chats", "dashboard", "experiments"}

# Every model that can point at a customer, a conversation or a message, and what deletion does to its rows.
HANDLED = {
    "chats.Customer": "deleted",
    "chats.Conversation": "deleted",
    "chats.Message": "deleted with the conversation",
    "chats.ConversationTag": "deleted with the conversation",
    "chats.Rating": "deleted with the conversation",
    "chats.MemberCode": "deleted with the customer",
    "chats.LineEvent": "customer and message set null; payload emptied when done",
    "agents.AgentTurn": "conversation id, tool calls, filters and flags emptied (costs stay)",
    "agents.GuardrailViolation": "conversation id and arguments emptied (the rule stays)",
    "agents.Escalation": "deleted",
    "agents.AgentNote": "deleted",
    "agents.CouponGrant": "conversation id and customer key emptied (the budget stays)",
    "agents.ConversationSummary": "deleted",
    "agents.Case": "deleted with its staff answers",
    "agents.SelfServiceRefund": "conversation id emptied (the refund stays for the books)",
    "inventory.Sale": "customer key blanked (the books keep the sale)",
    "inventory.CouponRedemption": "customer key blanked",
    "inventory.ProductRequest": "deleted",
    "dashboard.LinePush": "customer set null; the row counts toward the LINE quota and holds no words of theirs",
    "experiments.Exposure": "deleted with the conversation",
}
_LINKS = ("chats.Customer", "chats.Conversation", "chats.Message")


def _points_at_a_person(model) -> bool:
    for field in model._meta.get_fields():
        if field.is_relation and field.many_to_one or field.one_to_one and field.concrete:
            if field.related_model and field.related_model._meta.label in _LINKS:
                return True
        if getattr(field, "name", "") in ("conversation_id", "customer_key") and field.concrete:
            return True
    return model._meta.label in _LINKS


def project_models():
    return [
        model
        for model in apps.get_models()
        if model._meta.app_label in PROJECT_APPS and model._meta.managed and not model._meta.proxy
    ]


def test_every_model_that_can_point_at_a_customer_is_handled_by_deletion():
    unhandled = sorted(
        model._meta.label
        for model in project_models()
        if _points_at_a_person(model) and model._meta.label not in HANDLED
    )
    assert unhandled == [], f"say how customer_data_delete treats {unhandled} (and make it so)"


def _text_fields(model):
    kinds = (models.CharField, models.TextField, models.JSONField, models.FileField)
    return [field for field in model._meta.concrete_fields if isinstance(field, kinds)]


def traces(markers: list[str], conversation_ids: set[int]) -> list[str]:
    """Every row, in every model of the project, whose text, JSON or file name holds a marker, or whose
    `conversation_id` names one of the deleted conversations."""
    found = []
    pattern = re.compile("|".join(re.escape(marker) for marker in markers))
    for model in project_models():
        fields = _text_fields(model)
        for row in model._default_manager.all().values("pk", *[field.attname for field in fields]):
            for name, value in row.items():
                if name != "pk" and value and pattern.search(str(value)):
                    found.append(f"{model._meta.label}.{name} (row {row['pk']})")
        if any(field.name == "conversation_id" for field in model._meta.concrete_fields):
            left = model._default_manager.filter(conversation_id__in=conversation_ids)
            found += [f"{model._meta.label}.conversation_id (row {pk})" for pk in left.values_list("pk", flat=True)]
    return found


@pytest.fixture
def customer_everywhere(fake_line, shop, staff_user, settings, django_capture_on_commit_callbacks):
    """A LINE customer with their words, name and identity in every place the shop keeps any."""
    settings.CASE_STAFF_LINE_USER_IDS = []
    post_webhook(postback_event(fake_line, "action=consent&value=yes"))
    customer = Customer.objects.get(line_user_hash=line_user_hash(USER))
    post_webhook(text_event(fake_line, f"こんにちは、{WORDS}です"))  # conversation, message, tags, summary, turn
    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(text_event(fake_line, f"{WORDS}に違う商品が出てきました"))  # case, open_case arguments
        case = Case.objects.get()
        case_answer(case=case, author=staff_user, text=f"{WORDS}様、申し訳ございません")  # answer, pushed message
    post_webhook(
        postback_event(
            fake_line,
            "action=rate&m={}&s=-1".format(
                Message.objects.filter(sender="assistant", conversation__customer=customer).latest("id").pk
            ),
        )
    )
    post_webhook(text_event(fake_line, f"意見: {WORDS}は不満です"))  # rating comment
    post_webhook(text_event(fake_line, f"リクエスト: {WORDS}ジュース"))  # product request
    post_webhook(postback_event(fake_line, "action=confirm_buy&slot=A1&qty=1&key=del1"))  # sale with their key
    post_webhook(image_event(fake_line))  # a picture on storage
    tablet = APIClient()  # the member code typed on the tablet: a tablet conversation under their key
    tablet.credentials(HTTP_AUTHORIZATION=f"Device {device_token_issue(machine=shop)}")
    code, _expires = member_code_issue(customer=customer)
    at_tablet = tablet.post("/api/machines/HQ-1F/member/", {"code": code}, format="json").json()["conversation"]
    tablet.post("/api/machines/HQ-1F/chat/", {"message": f"{WORDS}です", "conversation": at_tablet}, format="json")
    member_code_issue(customer=customer)  # and a code not used yet
    conversation = Conversation.objects.filter(customer=customer).latest("id")
    context = ToolContext(
        agent=conversation.agent,
        machine=shop,
        conversation_id=conversation.pk,
        customer_key=customer.key,
        channel="line",
    )
    tool_call(context=context, name="write_note", arguments={"text": f"{WORDS}さんは常連"})  # note
    tool_call(context=context, name="issue_coupon", arguments={"percent": 10, "reason": f"{WORDS}へ"})  # grant
    for _ in range(3):  # refusals quoting them, then an escalation
        tool_call(context=context, name="issue_coupon", arguments={"percent": 90, "reason": f"{WORDS}の頼み"})
    conversation_summary_store(conversation_id=conversation.pk, text=f"{WORDS}が来店", folded_messages=2)
    customer.refresh_from_db()
    return customer


def test_a_deletion_request_leaves_nothing_that_names_or_quotes_the_customer(
    customer_everywhere, fake_line, django_capture_on_commit_callbacks
):
    customer = customer_everywhere
    key = customer.key
    conversation_ids = set(Conversation.objects.filter(customer=customer).values_list("pk", flat=True))
    picture = Message.objects.exclude(image="").get().image
    storage, picture_name = picture.storage, picture.name
    markers = [WORDS, NAME, USER, line_user_hash(USER), picture_name]
    assert customer.line_user_id == USER and customer.display_name == NAME
    before = traces(markers, conversation_ids)
    for expected in (
        "chats.Message.text",
        "chats.Message.image",
        "chats.Conversation.summary",
        "chats.Rating.comment",
        "agents.Case.text",
        "agents.CaseReply.text",
        "agents.AgentNote.text",
        "agents.AgentTurn.tool_calls",
        "agents.GuardrailViolation.arguments",
        "agents.ConversationSummary.text",
        "agents.CouponGrant.conversation_id",
        "agents.Escalation.conversation_id",
        "inventory.ProductRequest.name",
        "chats.Customer.line_user_id",
        "chats.Customer.display_name",
    ):
        assert any(trace.startswith(expected) for trace in before), f"the setup left nothing in {expected}"
    assert Sale.objects.filter(customer_key=key).count() == 1 and storage.exists(picture_name)
    assert MemberCode.objects.exists() and Conversation.objects.filter(channel="tablet", customer_key=key).exists()
    sales = Sale.objects.count()

    post_webhook(text_event(fake_line, "データ削除"))
    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(postback_event(fake_line, "action=delete_data&confirm=yes"))

    assert traces(markers, conversation_ids) == []
    assert not Customer.objects.exists() and not MemberCode.objects.exists()
    assert not Conversation.objects.filter(channel="tablet").exists()
    key_pattern = re.compile(rf"{re.escape(key)}\b")
    assert not any(key_pattern.search(str(value)) for value in _every_text_value())
    assert Sale.objects.count() == sales  # the books keep the sales, nameless
    assert not storage.exists(picture_name)
    assert AgentTurn.objects.exists() and GuardrailViolation.objects.filter(rule="coupon_max_percent").exists()


def _every_text_value():
    for model in project_models():
        fields = [field.attname for field in _text_fields(model)]
        for row in model._default_manager.all().values_list(*fields):
            yield from (value for value in row if value)


def test_the_retention_job_applies_the_same_rules(customer_everywhere, settings, django_capture_on_commit_callbacks):
    customer = customer_everywhere
    theirs = Conversation.objects.filter(Q(customer=customer) | Q(customer_key=customer.key))  # LINE and the tablet
    conversation_ids = set(theirs.values_list("pk", flat=True))
    picture = Message.objects.exclude(image="").get().image
    storage, picture_name = picture.storage, picture.name
    later = timezone.now() + datetime.timedelta(days=settings.CHAT_RETENTION_DAYS + 1)

    with django_capture_on_commit_callbacks(execute=True):
        counts = retention_cleanup(now=later)

    # The customer stays (they consented and may come back); nothing they said in those conversations does.
    assert counts["conversations"] == len(conversation_ids) == 2
    assert counts["member_codes"] == 1 and not MemberCode.objects.exists()  # the unused one, long expired
    left = traces([WORDS, picture_name], conversation_ids)
    # What was asked for stays for the buyer, no longer by whom.
    assert [trace.split(" ")[0] for trace in left] == [
        "inventory.ProductRequest.name",
        "inventory.ProductRequest.normalized_name",
    ]
    assert not ProductRequest.objects.exclude(customer_key="").exists()
    assert Customer.objects.filter(pk=customer.pk).exists() and not storage.exists(picture_name)


def test_before_consent_only_a_keyed_hash_is_stored(fake_line, shop):
    post_webhook(text_event(fake_line, "こんにちは"))

    customer = Customer.objects.get()
    assert (customer.line_user_id, customer.display_name) == (None, "")
    assert customer.line_user_hash == line_user_hash(USER) and USER not in customer.line_user_hash
    assert traces([USER, NAME], set()) == []

    post_webhook(postback_event(fake_line, "action=consent&value=yes"))
    customer.refresh_from_db()
    assert (customer.line_user_id, customer.display_name) == (USER, NAME)

    post_webhook(postback_event(fake_line, "action=consent&value=no"))
    customer.refresh_from_db()
    assert (customer.line_user_id, customer.display_name) == (None, "")
