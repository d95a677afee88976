import pytest
from django.contrib.auth.models import Group
from django.db import connection

from apps.core.roles import MANAGER, STAFF
from tests.factories import UserFactory


def pytest_collection_modifyitems(config, items):
    """`@pytest.mark.postgres` tests need real row locks; they run in .ci/run's PostgreSQL pass."""
    if connection.vendor == "postgresql":
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL: run with DATABASE_URL=postgres://...")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def staff_user(db):
    user = UserFactory(username="staff-member", is_staff=True)
    user.groups.add(Group.objects.get(name=STAFF))
    return user


@pytest.fixture
def manager_user(db):
    user = UserFactory(username="manager-member", is_staff=True)
    user.groups.add(Group.objects.get(name=MANAGER))
    return user
