"""Gate arithmetic: the Wilson lower bound against published values."""

from __future__ import annotations

import pytest

from cutover.gates import wilson_lower_bound


@pytest.mark.parametrize(
    ("x", "n", "conf", "expected"),
    [
        (95, 100, 0.95, 0.8883),  # Wilson 95 % interval of 95/100: [0.8883, 0.9785]
        (10, 10, 0.95, 0.7225),  # all successes of 10: [0.7225, 1]
        (0, 10, 0.95, 0.0),
        (50, 100, 0.95, 0.4038),  # [0.4038, 0.5962]
        (1980, 2000, 0.99, 0.9824),
    ],
)
def test_wilson_lower_bound_known_values(x: int, n: int, conf: float, expected: float) -> None:
    """The bound matches the textbook Wilson score interval to 4 decimals."""
    assert wilson_lower_bound(x, n, conf) == pytest.approx(expected, abs=1e-4)


def test_wilson_needs_evidence() -> None:
    """No data gives 0; a perfect small sample stays well below 1; impossible counts are refused."""
    assert wilson_lower_bound(0, 0) == 0.0
    assert wilson_lower_bound(30, 30) < 0.99
    with pytest.raises(ValueError):
        wilson_lower_bound(5, 3)


def test_comparisons_needed_is_the_smallest_n_meeting_min_match() -> None:
    """122/122 at min_match 0.98 needs 67 more (the bound is 0.9695 now, >= 0.98 at 189, not at 188); a rate
    not above min_match can never get there; a bound already met needs none."""
    from cutover.gates import comparisons_needed, wilson_lower_bound_at

    assert comparisons_needed(122, 122, 0.98) == 67
    assert wilson_lower_bound_at(1.0, 189) >= 0.98 > wilson_lower_bound_at(1.0, 188)
    assert comparisons_needed(95, 100, 0.99) is None
    assert comparisons_needed(0, 0, 0.99) is None
    assert comparisons_needed(500, 500, 0.98) == 0
