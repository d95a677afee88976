from django.urls import path

from apps.dashboard import views

urlpatterns = [path("dashboard/", views.dashboard, name="dashboard")]
