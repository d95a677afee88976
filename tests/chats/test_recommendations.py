"""Recommendations that know the customer, with their consent: their favourite and what they buy at this time of day,
among what is in stock, explained; the engagement job's "favourite restocked" reads the same selector."""

import datetime

from django.utils import timezone

from apps.agents.runtime import agent_turn_run
from apps.chats.models import Conversation
from apps.chats.selectors import recommendations_for
from apps.chats.services import chat_turn_context
from apps.inventory.models import Slot, StockMovement
from apps.inventory.selectors import customer_favourites
from apps.inventory.services import stock_receive
from tests.agents.fake_anthropic import Reply, text
from tests.chats.test_line import post_webhook, text_event
from tests.factories import sold_on


def history(customer, *, tea_units=3, cola_hours_ago=None):
    """Tea bought often over the last weeks (their favourite); cola once at about this time of day, if asked."""
    tea, cola = Slot.objects.get(code="A2"), Slot.objects.get(code="A1")
    now = timezone.now()
    for days in range(1, tea_units + 1):
        sold_on(
            slot=tea,
            at=now - datetime.timedelta(days=days * 5, hours=8),
            quantity=1,
            unit_price_yen=130,
            customer_key=customer.key,
        )
    if cola_hours_ago is not None:
        sold_on(
            slot=cola,
            at=now - datetime.timedelta(days=2, hours=cola_hours_ago),
            quantity=1,
            unit_price_yen=150,
            customer_key=customer.key,
        )
    StockMovement.objects.update(created_at=now - datetime.timedelta(days=3))  # the shop's stock came in earlier


def test_a_consenting_customer_hears_their_favourite_has_arrived(fake_line, consenting, tea):
    history(consenting, cola_hours_ago=0)
    stock_receive(product=tea, quantity=6, unit_cost_yen=60)  # today's delivery

    post_webhook(text_event(fake_line, "おすすめは？"))

    answer = fake_line.texts()[-2]  # the text, then the product carousel
    assert answer.startswith("いつもの緑茶が入荷しました。この時間によく買うコーラ。おすすめは 緑茶（130円）、コーラ")


def test_without_a_delivery_the_favourite_is_still_first_and_said_plainly(consenting, shop):
    history(consenting)

    picks = recommendations_for(customer=consenting, machine=shop)

    assert picks == [{"sku": "TEA", "name": "緑茶", "reason": "いつもの緑茶があります"}]


def test_nothing_personal_without_consent_or_for_an_anonymous_tablet(consenting, shop):
    history(consenting)
    consenting.consent_given = False

    assert recommendations_for(customer=consenting, machine=shop) == []
    assert recommendations_for(customer=None, machine=shop) == []


def test_a_sold_out_favourite_is_not_recommended(consenting, shop):
    history(consenting)
    Slot.objects.filter(code="A2").update(quantity=0)

    assert recommendations_for(customer=consenting, machine=shop) == []


def test_the_model_is_told_what_the_customer_likes(consenting, shop, model_shopkeeper, fake_anthropic):
    history(consenting)
    conversation = Conversation.objects.create(
        machine=shop, channel="line", customer=consenting, customer_key=consenting.key, agent=model_shopkeeper
    )
    turn = chat_turn_context(conversation=conversation, machine=shop, text="おすすめは？")
    fake_anthropic.then(Reply([text("いつもの緑茶はいかがですか。")]))

    agent_turn_run(agent=model_shopkeeper, context=turn.context, history=turn.history or [])

    assert turn.context.preferences == ("いつもの緑茶があります",)
    assert "いつもの緑茶があります" in str(fake_anthropic.requests[0]["system"])


def test_engagement_and_the_assistant_share_the_favourite(consenting, shop):
    history(consenting)
    since = timezone.now() - datetime.timedelta(days=90)

    everyone = customer_favourites(since=since)
    theirs = customer_favourites(since=since, customer_keys=[consenting.key])

    assert everyone[consenting.key] == theirs[consenting.key] == Slot.objects.get(code="A2").product_id
