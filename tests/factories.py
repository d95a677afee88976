"""Factories for every app's tests; each app's factories live under its own heading below."""

import factory
from django.contrib.auth import get_user_model

# --- core -------------------------------------------------------------------------------------------------------


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.invalid")
    password = factory.django.Password("correct-horse-battery")
