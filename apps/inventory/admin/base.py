"""What every inventory admin page shares: forms whose save is a service call, and actions that ask for a reason."""

from django import forms
from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from apps.core.admin_tools import service_errors_as_messages
from apps.core.errors import ApplicationError


class ServiceForm(forms.ModelForm):
    """A ModelForm whose save is a service call, made while validating so a refusal becomes a form error.

    Replaces ModelForm._post_clean (model construction and validation): the service validates and writes; the admin
    view's own transaction still wraps it.
    """

    request = None  # set by ServiceFormAdmin

    def run_service(self, data: dict):
        raise NotImplementedError

    def _post_clean(self):
        if self.errors:
            return
        try:
            self.instance = self.run_service(self.cleaned_data)
        except ApplicationError as exc:
            self.add_error(None, exc.message)


class ServiceFormAdmin(admin.ModelAdmin):
    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        form.request = request
        return form

    def get_fields(self, request, obj=None):
        """A recorded row's read-only view shows what was stored, not the form's extra inputs (「廃棄」「有効日数」)."""
        fields = super().get_fields(request, obj)
        if obj is None or self.has_change_permission(request, obj):
            return fields
        return [name for name in fields if name not in self.form.declared_fields]

    def save_model(self, request, obj, form, change):
        """Already saved by the form's service call."""


def reason_step(modeladmin, request, queryset, *, title: str, apply):
    """An action's second page asking for a reason; `apply(obj, reason)` runs per selected object."""
    reason = request.POST.get("reason", "").strip()
    if "apply" in request.POST:
        done = 0
        for obj in queryset:
            with service_errors_as_messages(request, modeladmin):
                apply(obj, reason)
                done += 1
        if done:
            modeladmin.message_user(request, _("{count}件を処理しました。").format(count=done), messages.SUCCESS)
        return None
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "objects": queryset,
        "action": request.POST["action"],
        "selected": request.POST.getlist(admin.helpers.ACTION_CHECKBOX_NAME),
        "opts": modeladmin.model._meta,
    }
    return TemplateResponse(request, "admin/inventory/reason_form.html", context)
