"""OpenAPI naming and error answers.

Our views keep small `InputSerializer`/`OutputSerializer` classes inside them (HackSoft style), so components are named
after the view (`PurchaseCreateInput`) instead of all colliding as `Input`/`Output`. Every operation also lists the
error answers that apply to it, each with the one error body of `apps.core.exceptions`."""

from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    class BodySerializer(serializers.Serializer):
        code = serializers.CharField(help_text="Machine-readable, e.g. `invalid`, `sold_out`, `not_authenticated`.")
        message = serializers.CharField(help_text="For a person, in the request's language (Japanese by default).")
        details = serializers.DictField(help_text="Field errors, or what the code needs (e.g. `max_bytes`).")

    error = BodySerializer()


_ERROR_DESCRIPTIONS = {
    "400": "Invalid input: a field, a query parameter or the JSON itself (nested over 64 levels).",
    "401": "The credential given was wrong or revoked.",
    "403": "Not signed in, or not allowed.",
    "404": "What the path names does not exist.",
    "409": "Conflicts with the current state (e.g. sold out, already closed, key reused with another body).",
    "413": "The body is over the size limit (`details.max_bytes`).",
    "415": "The body is not JSON.",
}


class VendBotAutoSchema(AutoSchema):
    def get_serializer_name(self, serializer, direction):
        name = super().get_serializer_name(serializer, direction)
        owner, _, inner = type(serializer).__qualname__.rpartition(".")
        if owner == "ErrorSerializer":
            return "Error" + inner.removesuffix("Serializer")
        if owner and inner in ("InputSerializer", "OutputSerializer", "FilterSerializer"):
            return owner.removesuffix("Api") + inner.removesuffix("Serializer")
        return name

    def _error_statuses(self) -> list[str]:
        has_body = self.method in ("POST", "PUT", "PATCH") and self.get_request_serializer() is not None
        has_parameters = any(parameter["in"] in ("query", "header") for parameter in self._get_parameters())
        auth = self.get_auth()
        statuses = []
        if has_body or has_parameters:
            statuses.append("400")
        if auth and {} not in auth:
            # DRF answers 401 only when the first authenticator names a scheme (WWW-Authenticate), 403 otherwise.
            authenticators = self.view.get_authenticators()
            if authenticators and authenticators[0].authenticate_header(self.view.request):
                statuses.append("401")
            statuses.append("403")
        if "{" in self.path:
            statuses.append("404")
        if has_body:
            statuses += ["409", "413", "415"]
        return statuses

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for status in self._error_statuses():
            if status not in responses:
                response = self._get_response_for_code(ErrorSerializer, status, direction=direction)
                responses[status] = {**response, "description": _ERROR_DESCRIPTIONS[status]}
        return responses
