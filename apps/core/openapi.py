"""OpenAPI naming: our views keep small `InputSerializer`/`OutputSerializer` classes inside them (HackSoft style),
so components are named after the view (`PurchaseCreateInput`) instead of all colliding as `Input`/`Output`."""

from drf_spectacular.openapi import AutoSchema


class VendBotAutoSchema(AutoSchema):
    def get_serializer_name(self, serializer, direction):
        name = super().get_serializer_name(serializer, direction)
        owner, _, inner = type(serializer).__qualname__.rpartition(".")
        if owner and inner in ("InputSerializer", "OutputSerializer", "FilterSerializer"):
            return owner.removesuffix("Api") + inner.removesuffix("Serializer")
        return name
