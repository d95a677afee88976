"""The experiments pages for Managers: the list, one experiment's comparison with charts and live progress, and an
A/B test's results with the action that ends it."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from apps.core.errors import ApplicationError
from apps.experiments import selectors, services
from apps.experiments.consumers import RUN_EXPERIMENTS
from apps.experiments.models import ABTest, ABVariant, Experiment


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
