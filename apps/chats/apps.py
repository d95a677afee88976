from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ChatsConfig(AppConfig):
    name = "apps.chats"
    label = "chats"
    verbose_name = _("会話")

    def ready(self):
        from apps.chats import receivers

        receivers.connect()
