from apps.chats.models import Conversation
from apps.chats.services import chat_message_handle


def tags(conversation):
    return {str(tag) for tag in conversation.tags.all()}


def test_a_conversation_is_tagged_with_intents_products_and_mood(shop):
    reply = chat_message_handle(machine=shop, conversation_public_id=None, text="コーラを2本ください")
    chat_message_handle(machine=shop, conversation_public_id=reply.conversation.public_id, text="ありがとう！")

    found = {(tag.kind, tag.value) for tag in reply.conversation.tags.all()}
    assert ("intent", "buy") in found and ("product", "COLA") in found and ("sentiment", "positive") in found
    reply.conversation.refresh_from_db()
    assert reply.conversation.summary == "コーラを2本ください"


def test_a_complaint_is_tagged_negative_and_found_by_the_admin_search(shop, manager_user, client):
    reply = chat_message_handle(machine=shop, conversation_public_id=None, text="お金を入れたのに出てこない、返金して")
    chat_message_handle(machine=shop, conversation_public_id=None, text="こんにちは")

    assert ("sentiment", "negative") in {(t.kind, t.value) for t in reply.conversation.tags.all()}
    client.force_login(manager_user)
    by_text = client.get("/admin/chats/conversation/", {"q": "返金"})
    by_tag = client.get("/admin/chats/conversation/", {"tag": "sentiment:negative"})
    for response in (by_text, by_tag):
        assert response.status_code == 200
        assert response.context["cl"].result_count == 1
        assert list(response.context["cl"].result_list) == [reply.conversation]
    assert Conversation.objects.count() == 2
