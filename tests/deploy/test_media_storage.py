"""Product pictures and chat images go through Django's storage API, so production can keep them in one
S3-compatible bucket that every replica reads (MEDIA_S3_*; here a loopback S3 server with the real boto3)."""

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image
from rest_framework.test import APIClient

from apps.chats.models import Conversation, Customer, Message
from apps.chats.selectors import conversation_history
from apps.chats.services import customer_data_delete, message_record
from apps.dashboard.services import retention_cleanup
from apps.inventory.services import device_token_issue, product_create
from tests.deploy.conftest import media_storage_from
from tests.factories import MachineFactory, SlotFactory, stock_slot

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db


def png(size=(40, 30), colour="green") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def machine():
    return MachineFactory(code="HQ-1F")


def test_a_product_picture_lands_in_the_bucket_and_the_tablet_loads_it_from_there(
    media_bucket, fake_s3_server, machine
):
    picture = png()
    tea = product_create(
        sku="D001", name_ja="緑茶", category="drink", price_yen=150, image=SimpleUploadedFile("tea.png", picture)
    )
    stock_slot(SlotFactory(machine=machine, code="A1", product=tea, capacity=10), 3)
    assert fake_s3_server.keys(media_bucket) == [tea.image.name]

    tablet = APIClient()
    tablet.credentials(HTTP_AUTHORIZATION=f"Device {device_token_issue(machine=machine)}")
    (product,) = tablet.get("/api/machines/HQ-1F/products/").json()
    # A private bucket: the tablet gets a signed, expiring link straight to the object store, not to one web replica.
    assert product["image"].startswith(f"{fake_s3_server.url}/{media_bucket}/products/")
    assert "X-Amz-Signature=" in product["image"] and "X-Amz-Expires=3600" in product["image"]
    loaded = requests.get(product["image"], timeout=10)
    assert loaded.status_code == 200 and loaded.content == picture


def test_a_chat_picture_is_kept_in_the_bucket_read_back_for_the_model_and_deleted_with_its_conversation(
    media_bucket, fake_s3_server, machine, django_capture_on_commit_callbacks
):
    conversation = Conversation.objects.create(machine=machine, channel=Conversation.Channel.LINE)
    picture = png((64, 48))
    message_record(
        conversation=conversation,
        sender=Message.Sender.CUSTOMER,
        text="（画像）",
        image=ContentFile(picture, name="line-98765.png"),
    )
    (key,) = fake_s3_server.keys(media_bucket)
    assert key.startswith("chats/images/") and key.endswith(".png")

    (seen,) = conversation_history(conversation=conversation)
    assert (seen.image.data, seen.image.media_type, seen.image.width, seen.image.height) == (
        picture,
        "image/png",
        64,
        48,
    )

    with django_capture_on_commit_callbacks(execute=True):
        counts = retention_cleanup(now=timezone.now() + timezone.timedelta(days=365))
    assert counts["conversations"] == 1
    assert fake_s3_server.keys(media_bucket) == []


def test_a_picture_gone_from_the_bucket_leaves_the_message_without_it(media_bucket, fake_s3_server, machine):
    conversation = Conversation.objects.create(machine=machine, channel=Conversation.Channel.LINE)
    message_record(
        conversation=conversation,
        sender=Message.Sender.CUSTOMER,
        text="（画像）",
        image=ContentFile(png(), name="line-1.png"),
    )
    (key,) = fake_s3_server.keys(media_bucket)
    fake_s3_server.client.delete_object(Bucket=media_bucket, Key=key)

    (seen,) = conversation_history(conversation=conversation)
    assert seen.text == "（画像）" and seen.image is None


def test_the_settings_put_media_in_the_bucket_named_by_the_environment(fake_s3_server, tmp_path):
    """What a deployed process does with MEDIA_S3_* set: default_storage writes to that bucket."""
    bucket = fake_s3_server.new_bucket()
    script = (
        "from django.core.files.base import ContentFile\n"
        "from django.core.files.storage import default_storage\n"
        "print(default_storage.save('products/probe.txt', ContentFile(b'stored in the bucket')))\n"
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", script],
        cwd=ROOT,
        env={
            **os.environ,
            **fake_s3_server.storage_env(bucket),
            "DJANGO_SETTINGS_MODULE": "vendbot.settings.base",
            "DEBUG": "1",
            "ENV_FILE": os.devnull,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
            "MEDIA_ROOT": str(tmp_path / "media"),
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert fake_s3_server.keys(bucket) == ["products/probe.txt"]
    stored = fake_s3_server.client.get_object(Bucket=bucket, Key="products/probe.txt")["Body"].read()
    assert stored == b"stored in the bucket"
    assert not (tmp_path / "media").exists()


def test_without_a_bucket_media_stay_on_the_local_disk(tmp_path):
    configured = media_storage_from({"MEDIA_S3_ENDPOINT_URL": "http://minio:9000"})
    storage = storages.create_storage({**configured, "OPTIONS": {"location": str(tmp_path)}})
    storage.save("products/probe.txt", ContentFile(b"on disk"))
    assert (tmp_path / "products" / "probe.txt").read_bytes() == b"on disk"


def test_deleting_a_customers_data_deletes_the_pictures_they_sent(
    media_bucket, fake_s3_server, machine, django_capture_on_commit_callbacks
):
    customer = Customer.objects.create(line_user_id="U" + "0" * 32, consent_given=True, consent_at=timezone.now())
    other = Conversation.objects.create(machine=machine, channel=Conversation.Channel.TABLET)
    theirs = Conversation.objects.create(machine=machine, channel=Conversation.Channel.LINE, customer=customer)
    for conversation, name in ((theirs, "line-1.png"), (other, "tablet-2.png")):
        message_record(conversation=conversation, sender=Message.Sender.CUSTOMER, image=ContentFile(png(), name=name))
    kept = other.messages.get().image.name

    with django_capture_on_commit_callbacks(execute=True):
        customer_data_delete(customer=customer)

    assert fake_s3_server.keys(media_bucket) == [kept]
