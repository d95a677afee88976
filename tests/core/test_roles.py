import io

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command

from apps.core.roles import MANAGER, STAFF, is_manager, is_staff_member

pytestmark = pytest.mark.django_db


def test_role_groups_exist_after_migrate():
    assert set(Group.objects.filter(name__in=[STAFF, MANAGER]).values_list("name", flat=True)) == {STAFF, MANAGER}


def test_manager_holds_every_staff_permission_and_the_manager_only_ones():
    staff = set(Group.objects.get(name=STAFF).permissions.values_list("content_type__app_label", "codename"))
    manager = set(Group.objects.get(name=MANAGER).permissions.values_list("content_type__app_label", "codename"))
    assert staff < manager
    for capability in ["view_dashboard", "view_reports", "run_experiments", "manage_personas"]:
        assert ("core", capability) in manager
        assert ("core", capability) not in staff


def test_users_get_their_role_capabilities(staff_user, manager_user):
    assert not staff_user.has_perm("core.view_dashboard")
    assert manager_user.has_perm("core.view_dashboard")
    assert manager_user.has_perm("core.view_reports")
    assert is_manager(manager_user) and not is_manager(staff_user)
    assert is_staff_member(staff_user) and is_staff_member(manager_user)


def test_seed_demo_creates_staff_and_manager_logins_once(monkeypatch):
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)
    out = io.StringIO()
    call_command("seed_demo", history_days=0, stdout=out)
    first_run = out.getvalue()
    assert "demo login: staff / " in first_run and "demo login: manager / " in first_run
    password = first_run.split("demo login: staff / ")[1].split()[0]
    User = get_user_model()
    staff = User.objects.get(username="staff")
    assert staff.check_password(password) and staff.is_staff
    assert list(staff.groups.values_list("name", flat=True)) == [STAFF]
    assert list(User.objects.get(username="manager").groups.values_list("name", flat=True)) == [MANAGER]

    again = io.StringIO()
    call_command("seed_demo", history_days=0, stdout=again)
    assert "demo login" not in again.getvalue()  # printed once: a second run neither shows nor changes it
    staff.refresh_from_db()
    assert staff.check_password(password)
    assert User.objects.filter(username__in=["staff", "manager"]).count() == 2


def test_seed_demo_uses_demo_password_from_the_environment(monkeypatch, client):
    monkeypatch.setenv("DEMO_PASSWORD", "demo-pass-for-tests")
    call_command("seed_demo", history_days=0, stdout=io.StringIO())
    assert client.login(username="staff", password="demo-pass-for-tests")
    assert client.get("/admin/").status_code == 200
