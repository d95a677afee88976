"""Means with 95% confidence intervals and Welch's t-test (unequal variances, Welch–Satterthwaite degrees of
freedom), with the t distribution from scipy."""

import math
from dataclasses import dataclass

CONFIDENCE = 0.95


def _student_t():
    # scipy.stats takes most of a second to import, so it loads on the first interval or test, not in every process
    # that loads the apps (the start-up rule in docs/architecture.md; tests/core/test_startup.py).
    from scipy import stats

    return stats.t


@dataclass(frozen=True)
class MeanInterval:
    n: int
    mean: float
    low: float  # NaN when n < 2: one sample says nothing about spread
    high: float


@dataclass(frozen=True)
class WelchTest:
    difference: float  # mean(b) - mean(a)
    t: float
    df: float
    p_value: float

    @property
    def significant(self) -> bool:
        return self.p_value < 1 - CONFIDENCE


def mean_interval(values) -> MeanInterval:
    values = [float(v) for v in values]
    n = len(values)
    mean = sum(values) / n if n else math.nan
    if n < 2:
        return MeanInterval(n, mean, math.nan, math.nan)
    variance = sum((v - mean) ** 2 for v in values) / (n - 1)
    half = _student_t().ppf((1 + CONFIDENCE) / 2, n - 1) * math.sqrt(variance / n)
    return MeanInterval(n, mean, mean - half, mean + half)


def welch_test(a, b) -> WelchTest:
    """Is mean(b) different from mean(a)? Two-sided. Needs two values on each side."""
    a, b = [float(v) for v in a], [float(v) for v in b]
    n_a, n_b = len(a), len(b)
    mean_a, mean_b = sum(a) / n_a, sum(b) / n_b
    if n_a < 2 or n_b < 2:
        return WelchTest(mean_b - mean_a, math.nan, math.nan, math.nan)
    var_a = sum((v - mean_a) ** 2 for v in a) / (n_a - 1) / n_a
    var_b = sum((v - mean_b) ** 2 for v in b) / (n_b - 1) / n_b
    if var_a + var_b == 0:
        # No spread on either side: equal means are no evidence of a difference, unequal ones are certain.
        return WelchTest(mean_b - mean_a, math.nan, math.nan, 1.0 if mean_a == mean_b else 0.0)
    t = (mean_b - mean_a) / math.sqrt(var_a + var_b)
    df = (var_a + var_b) ** 2 / (var_a**2 / (n_a - 1) + var_b**2 / (n_b - 1))
    return WelchTest(mean_b - mean_a, t, df, float(2 * _student_t().sf(abs(t), df)))
