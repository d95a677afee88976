import pytest
from django.contrib.auth.models import Group

from apps.core.roles import MANAGER, STAFF
from tests.factories import UserFactory


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
