from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DevServerConfig(AppConfig):
    name = "vendbot.devserver"
    label = "devserver"
    verbose_name = _("開発用サーバー")
