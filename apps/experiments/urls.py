from django.urls import path

from apps.experiments import views

app_name = "experiments"

urlpatterns = [
    path("experiments/", views.experiment_list, name="list"),
    path("experiments/<int:experiment_id>/", views.experiment_detail, name="detail"),
    path("experiments/ab/<int:test_id>/", views.ab_test_detail, name="ab_test_detail"),
    path("experiments/ab/<int:test_id>/stop/", views.ab_test_stop, name="ab_test_stop"),
    path("experiments/arena/<int:leaderboard_id>/", views.arena_leaderboard, name="arena_leaderboard"),
    path("experiments/arena/runs/<int:run_id>/", views.arena_run, name="arena_run"),
]
