"""Demo users for `seed_demo`: `staff` and `manager`, passwords from DEMO_PASSWORD or generated and printed once."""

import os
import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from apps.core.roles import MANAGER, STAFF
from apps.core.services import roles_sync

DEMO_USERS = [
    ("staff", "スタッフ", [STAFF]),
    ("manager", "マネージャー", [MANAGER]),
]


def seed(*, stdout, options: dict) -> None:
    password = os.environ.get("DEMO_PASSWORD") or None
    reset_passwords = options.get("reset_passwords", False)
    roles_sync()
    User = get_user_model()
    generated = None
    for username, first_name, groups in DEMO_USERS:
        user, created = User.objects.get_or_create(
            username=username,
            defaults={"first_name": first_name, "is_staff": True, "email": f"{username}@example.invalid"},
        )
        if created or reset_passwords:
            if password is None and generated is None:
                generated = secrets.token_urlsafe(12)
            user.set_password(password or generated)
            user.is_staff = True
            user.save()
            stdout.write(f"  demo login: {username} / {password and '(DEMO_PASSWORD)' or generated}")
        user.groups.set(Group.objects.filter(name__in=groups))
