"""Means, intervals and Welch's test against values computed by hand and by R (t.test(..., var.equal = FALSE))."""

import math

import pytest

from apps.experiments.stats import mean_interval, welch_test

A = [27.5, 21.0, 19.0, 23.6, 17.0, 17.9, 16.9, 20.1, 21.9, 22.6, 23.1, 19.6, 19.0, 21.7, 21.4]
B = [27.1, 22.0, 20.8, 23.4, 23.4, 23.5, 25.8, 22.0, 24.8, 20.2, 21.9, 22.1, 22.9, 20.5, 24.4]


def test_welch_matches_the_textbook_example():
    # Welch's t-test example (Wikipedia, "Welch's t-test", example 1): t = -2.46, df = 24.99, p = 0.021.
    result = welch_test(A, B)
    assert result.t == pytest.approx(2.46, abs=0.01)  # sign: mean(B) - mean(A)
    assert result.df == pytest.approx(24.99, abs=0.01)
    assert result.p_value == pytest.approx(0.021, abs=0.001)
    assert result.significant


def test_the_95_percent_interval_of_a_small_sample():
    # mean 3, sample sd sqrt(2.5), t(0.975, 4) = 2.776445: half-width 2.776445 * sqrt(2.5 / 5) = 1.963243
    interval = mean_interval([1, 2, 3, 4, 5])
    assert interval.mean == 3
    assert (interval.low, interval.high) == (pytest.approx(1.036757, abs=1e-6), pytest.approx(4.963243, abs=1e-6))


def test_one_value_has_no_interval_and_equal_constant_groups_no_difference():
    assert math.isnan(mean_interval([7]).low)
    assert welch_test([5, 5, 5], [5, 5, 5]).p_value == 1.0
    assert not welch_test([1, 2, 3, 4], [2, 3, 1, 4]).significant
