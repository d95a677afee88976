import importlib
import os
import uuid

import boto3
import pytest
from moto.server import ThreadedMotoServer

ACCESS_KEY, SECRET_KEY, REGION = "test-media-access", "test-media-secret", "us-east-1"


class FakeS3:
    """An S3-compatible object store on loopback (moto's server: the S3 wire protocol, the real boto3 talking to it),
    standing in for AWS S3 or MinIO. Each test gets a bucket of its own."""

    def __init__(self):
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)

    def start(self) -> "FakeS3":
        self.server.start()
        host, port = self.server.get_host_and_port()
        self.url = f"http://{host}:{port}"
        self.client = boto3.client(
            "s3",
            endpoint_url=self.url,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name=REGION,
        )
        return self

    def stop(self) -> None:
        self.server.stop()

    def new_bucket(self) -> str:
        bucket = f"vendbot-media-{uuid.uuid4().hex[:12]}"
        self.client.create_bucket(Bucket=bucket)
        return bucket

    def keys(self, bucket: str) -> list[str]:
        return [item["Key"] for item in self.client.list_objects_v2(Bucket=bucket).get("Contents", [])]

    def storage_env(self, bucket: str) -> dict[str, str]:
        """The environment the settings read for media in a bucket (as in .env.example)."""
        return {
            "MEDIA_S3_BUCKET": bucket,
            "MEDIA_S3_ENDPOINT_URL": self.url,
            "MEDIA_S3_REGION": REGION,
            "MEDIA_S3_ACCESS_KEY_ID": ACCESS_KEY,
            "MEDIA_S3_SECRET_ACCESS_KEY": SECRET_KEY,
            "MEDIA_S3_ADDRESSING_STYLE": "path",
        }


@pytest.fixture(scope="session")
def fake_s3_server():
    fake = FakeS3().start()
    yield fake
    fake.stop()


def media_storage_from(environment: dict[str, str]) -> dict:
    """The media storage base.py configures from these variables (the MEDIA_S3_* ones not named here unset)."""
    import vendbot.settings.base as base

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ENV_FILE", os.devnull)  # a developer's .env stays out of it
        for name in [name for name in os.environ if name.startswith("MEDIA_S3_")]:
            patch.delenv(name)
        for name, value in environment.items():
            patch.setenv(name, value)
        configured = importlib.reload(base).MEDIA_STORAGE
    importlib.reload(base)
    return configured


@pytest.fixture
def media_bucket(fake_s3_server, settings):
    """Media in a fresh bucket of the fake S3, configured as base.py configures it from the MEDIA_S3_* variables."""
    bucket = fake_s3_server.new_bucket()
    configured = media_storage_from(fake_s3_server.storage_env(bucket))
    assert configured["BACKEND"] == "storages.backends.s3.S3Storage"
    settings.STORAGES = {**settings.STORAGES, "default": configured}
    return bucket
