from django.apps import AppConfig


class CareValueWebConfig(AppConfig):
    name = "carevalue.web"
    label = "carevalue"
    verbose_name = "CareValue"
    default_auto_field = "django.db.models.BigAutoField"
