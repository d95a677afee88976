"""The admin side of the error mapping: an `ApplicationError` from a service becomes an admin error message."""

from contextlib import contextmanager

from django.contrib import admin, messages

from apps.core.errors import ApplicationError


@contextmanager
def service_errors_as_messages(request, modeladmin: admin.ModelAdmin):
    """Wrap a service call in an admin action or view: a refused operation shows its reason instead of a 500.

    Usage: `with service_errors_as_messages(request, self): purchase_order_approve(...)`.
    """
    try:
        yield
    except ApplicationError as exc:
        modeladmin.message_user(request, exc.message, level=messages.ERROR)


class ReadOnlyAdminMixin:
    """For append-only records: visible, never added, changed or deleted from the admin."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
