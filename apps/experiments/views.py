"""The experiments pages for Managers: the list, one experiment's comparison with charts and live progress, an
A/B test's results with the action that ends it, and the arena's leaderboards and runs (a day replayed on request)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from apps.core.errors import ApplicationError
from apps.experiments import selectors, services
from apps.experiments.consumers import RUN_EXPERIMENTS
from apps.experiments.models import ABTest, ABVariant, ArenaLeaderboard, ArenaRun, Experiment


@never_cache
@login_required
@permission_required(RUN_EXPERIMENTS, raise_exception=True)
def experiment_list(request):
    return render(
        request,
        "experiments/list.html",
        {
            "experiments": Experiment.objects.all()[:100],
            "ab_tests": ABTest.objects.select_related("winner__persona")[:100],
            "leaderboards": ArenaLeaderboard.objects.all()[:20],
        },
    )


@never_cache
@login_required
@permission_required(RUN_EXPERIMENTS, raise_exception=True)
def experiment_detail(request, experiment_id: int):
    experiment = get_object_or_404(Experiment, pk=experiment_id)
    return render(
        request,
        "experiments/detail.html",
        {
            "experiment": experiment,
            "progress": selectors.experiment_progress(experiment=experiment),
            "comparison": selectors.experiment_comparison(experiment=experiment),
        },
    )


@never_cache
@login_required
@permission_required(RUN_EXPERIMENTS, raise_exception=True)
def ab_test_detail(request, test_id: int):
    test = get_object_or_404(ABTest.objects.select_related("winner__persona"), pk=test_id)
    return render(request, "experiments/ab_test.html", {"test": test, "results": selectors.ab_test_results(test=test)})


@require_POST
@login_required
@permission_required(RUN_EXPERIMENTS, raise_exception=True)
def ab_test_stop(request, test_id: int):
    test = get_object_or_404(ABTest, pk=test_id)
    winner_id = request.POST.get("winner")
    winner = get_object_or_404(ABVariant, pk=winner_id, test=test) if winner_id else None
    try:
        test = services.ab_test_stop(test=test, actor=request.user, winner=winner)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"テストを終了し、「{test.winner.persona.name}」を既定のペルソナにしました。")
    return redirect("experiments:ab_test_detail", test_id=test.pk)


@never_cache
@login_required
@permission_required(RUN_EXPERIMENTS, raise_exception=True)
def arena_leaderboard(request, leaderboard_id: int):
    board = get_object_or_404(ArenaLeaderboard, pk=leaderboard_id)
    runs = board.runs.only("pk", "entrant", "seed", "final_net_worth_yen", "bankrupt_day").order_by("entrant", "seed")
    return render(request, "experiments/arena_leaderboard.html", {"board": board, "runs": runs[:600]})


@never_cache
@login_required
@permission_required(RUN_EXPERIMENTS, raise_exception=True)
def arena_run(request, run_id: int):
    """The run's net worth with its events; `?day=N` replays day N from the seed and the trace."""
    run = get_object_or_404(ArenaRun.objects.select_related("leaderboard"), pk=run_id)
    replayed, error = None, ""
    if "day" in request.GET:
        try:
            replayed = selectors.arena_run_replay(run=run, day=int(request.GET["day"]))
        except ValueError:
            error = _("日は整数で指定してください。")
        except ApplicationError as exc:
            error = exc.message
    context = {"run": run, "chart": selectors.arena_run_chart(run=run), "replayed": replayed, "replay_error": error}
    return render(request, "experiments/arena_run.html", context)
