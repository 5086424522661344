"""The resume policy's numbers, as its docstring and the README state them.

``delay(n)``, the wait once *n* resumes have brought nothing, is ``initial_delay * 2 ** (n - 1)``
capped at ``max_delay``, minus at most a quarter at random (that the first resume goes out at
once is held in tests/test_resume_request.py); the quiet-watch settings must be ordered.
"""

from __future__ import annotations

import pytest

from letta_async import ResumeSettings


@pytest.mark.parametrize("draw", [0.0, 0.5, 0.999999])
def test_the_wait_doubles_from_initial_delay_up_to_max_delay(
    monkeypatch: pytest.MonkeyPatch, draw: float
) -> None:
    monkeypatch.setattr("letta_async._stream.random.random", lambda: draw)
    settings = ResumeSettings(initial_delay=0.5, max_delay=3.0)
    undisturbed = [0.5, 1.0, 2.0, 3.0, 3.0]  # 0.5 * 2**(n-1), capped at 3
    waits = [settings.delay(n) for n in range(1, 6)]
    assert waits == pytest.approx([w * (1 - 0.25 * draw) for w in undisturbed])


def test_jitter_only_shortens_the_wait_and_by_at_most_a_quarter() -> None:
    settings = ResumeSettings(initial_delay=1.0, max_delay=1.0)
    waits = [settings.delay(3) for _ in range(2000)]
    assert all(0.75 <= w <= 1.0 for w in waits)
    # Spread over the whole quarter, not a constant.
    assert min(waits) < 0.8 and max(waits) > 0.95


def test_the_defaults_are_the_documented_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("letta_async._stream.random.random", lambda: 0.0)
    settings = ResumeSettings()
    assert settings.max_attempts == 5  # README: "max_attempts=5 by default"
    assert settings.end_check_after == 2.0  # README: "end_check_after (2 s)"
    assert settings.end_check_max_interval == 10.0  # README: "then every 10 s"
    assert settings.include_pings is True
    assert settings.batch_size is None
    # The first resume comes quickly, later ones wait longer, and none waits more than 5 s.
    assert [settings.delay(n) for n in (1, 2, 5, 20)] == [0.25, 0.5, 4.0, 5.0]


@pytest.mark.parametrize(("after", "max_interval"), [(0.0, 10.0), (-1.0, 10.0), (3.0, 2.0)])
def test_the_quiet_watch_needs_a_positive_first_check_before_the_longest(
    after: float, max_interval: float
) -> None:
    with pytest.raises(ValueError, match=r"^need 0 < end_check_after <= end_check_max_interval$"):
        ResumeSettings(end_check_after=after, end_check_max_interval=max_interval)


@pytest.mark.parametrize(("after", "max_interval"), [(4.0, 4.0), (0.5, 10.0), (0.01, 0.01)])
def test_any_positive_first_check_up_to_the_longest_interval_is_allowed(
    after: float, max_interval: float
) -> None:
    settings = ResumeSettings(end_check_after=after, end_check_max_interval=max_interval)
    assert (settings.end_check_after, settings.end_check_max_interval) == (after, max_interval)


def test_every_setting_passed_is_the_one_kept() -> None:
    settings = ResumeSettings(
        max_attempts=9,
        initial_delay=0.1,
        max_delay=0.7,
        include_pings=False,
        batch_size=50,
        end_check_after=1.5,
        end_check_max_interval=6.0,
    )
    kept = {name: getattr(settings, name) for name in ResumeSettings.__slots__}
    assert kept == {
        "max_attempts": 9,
        "initial_delay": 0.1,
        "max_delay": 0.7,
        "include_pings": False,
        "batch_size": 50,
        "end_check_after": 1.5,
        "end_check_max_interval": 6.0,
    }
