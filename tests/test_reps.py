"""Rep segmentation: hand-computable signals first, then real clips through MediaPipe.

Synthetic signals are in torso lengths (the unit `RepSettings.min_amplitude` assumes); a raised
cosine 0.5 * (1 - cos(2 pi t / P)) rests at 0 and peaks at 1 at t = (k + 1/2) P.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.interpolate import PchipInterpolator

from coach.reps import (
    Rep,
    RepResult,
    count_reps,
    count_reps_generic,
    count_reps_pose,
    estimate_period,
    generic_components,
    generic_signal,
    orient_peaks_up,
    robust_skew,
    typical_amplitude,
)
from coach.schema import N_LANDMARKS, L
from coach.settings import RepSettings

FPS = 30.0
ONE_FRAME = 1 / FPS + 1e-9  # float slack on 'within one frame'


def raised_cosine(n_reps: int, period_s: float, *, fps: float = FPS, amp: float = 1.0) -> np.ndarray:
    """n_reps whole periods, starting and ending at rest (0)."""
    t = np.arange(round(n_reps * period_s * fps) + 1) / fps
    return amp * 0.5 * (1 - np.cos(2 * np.pi * t / period_s))


def times(x: np.ndarray, fps: float = FPS) -> np.ndarray:
    return np.arange(x.size) / fps


def count(x: np.ndarray, fps: float = FPS, **kw) -> RepResult:
    return count_reps(x, times(x, fps), fps=fps, **kw)


def pchip_reps(knots_t: list[float], knots_y: list[float], n_reps: int, *, fps: float = FPS) -> np.ndarray:
    """Repeat one rep shape given by monotone-cubic knots (t from 0 to the rep length)."""
    rep = PchipInterpolator(knots_t, knots_y)(np.arange(round(knots_t[-1] * fps)) / fps)
    return np.concatenate([np.tile(rep, n_reps), [knots_y[0]]])


# --- hand-computable signals -------------------------------------------------------------------


def test_five_periods_give_five_reps_with_peak_times_within_one_frame():
    x = raised_cosine(5, 2.0)
    res = count(x)
    assert res.count == 5
    assert res.partial == ()
    assert [r.index for r in res.reps] == [1, 2, 3, 4, 5]
    expected = (np.arange(5) + 0.5) * 2.0
    assert np.abs(np.array([r.peak_s for r in res.reps]) - expected).max() <= ONE_FRAME
    assert res.period_s == pytest.approx(2.0, rel=0.03)
    assert res.method == "exercise"
    assert res.confidence > 0.8


def test_rep_bounds_are_the_rest_positions_around_each_peak():
    res = count(raised_cosine(5, 2.0))
    for r in res.reps:
        assert r.start_frame < r.peak_frame < r.end_frame
        # start/end where the signal is within 15% of the rep's rise above rest (rest_band)
        assert r.peak_s - 1.0 - ONE_FRAME <= r.start_s <= r.peak_s - 0.6
        assert r.peak_s + 0.6 <= r.end_s <= r.peak_s + 1.0 + ONE_FRAME
        assert r.depth == pytest.approx(1.0, abs=0.05)
    for a, b in zip(res.reps, res.reps[1:], strict=False):
        assert a.end_frame <= b.start_frame


def test_flat_noise_before_and_after_the_set_is_ignored():
    rng = np.random.default_rng(0)
    core = raised_cosine(5, 2.0)
    lead, tail = rng.normal(0, 0.01, 90), rng.normal(0, 0.01, 120)
    res = count(np.concatenate([lead, core, tail]))
    assert res.count == 5
    expected = 3.0 + (np.arange(5) + 0.5) * 2.0
    assert np.abs(np.array([r.peak_s for r in res.reps]) - expected).max() <= ONE_FRAME


def test_short_nan_gap_is_interpolated():
    x = raised_cosine(5, 2.0)
    x[int(4.9 * FPS) : int(5.1 * FPS)] = np.nan  # 0.2 s hole across the third peak
    res = count(x)
    assert res.count == 5
    assert np.isnan(res.signal).sum() == 0


def test_long_nan_gap_splits_the_signal_and_invents_no_rep():
    x = raised_cosine(5, 2.0)
    x[int(4 * FPS) + 1 : int(6 * FPS)] = np.nan  # the whole third rep is unseen
    res = count(x)
    assert res.count == 4
    assert [round(r.peak_s) for r in res.reps] == [1, 3, 7, 9]
    assert np.isnan(res.signal[int(5 * FPS)])


def test_rep_whose_extreme_fell_in_a_tracking_gap_still_counts():
    """The top of a rep is lost for 1 s (the bar hides the face at lockout): the two halves on both
    sides of the gap are one complete rep; without bridging the rep is lost."""
    one = np.concatenate([np.zeros(30), raised_cosine(1, 3.0), np.zeros(30)])
    one[int(2.0 * FPS) : int(3.0 * FPS)] = np.nan  # the rep peaks at 2.5 s
    res = count(one)
    assert res.count == 1 and res.partial == ()
    assert 1.0 <= res.reps[0].peak_s <= 3.0 + ONE_FRAME
    assert res.reps[0].start_s < 1.5 and res.reps[0].end_s > 3.5
    assert count(one, settings=RepSettings(max_bridge_s=0.0)).count == 0
    three = raised_cosine(3, 3.0)
    three[int(4.0 * FPS) : int(5.0 * FPS)] = np.nan  # the middle rep's top (4.5 s)
    res = count(three)
    assert res.count == 3
    assert count(three, settings=RepSettings(max_bridge_s=0.0)).count == 2


def test_rep_lost_on_its_way_up_counts_when_tracking_returns_at_its_rest():
    """The lifter is lost near the top of the middle rep (4.2 s, 90% of the way up) and found again
    1.8 s later back at rest: the rest of the rise and the return happened in the gap, so the rep
    counts. Found again far below that rest (another state, not this rep's return), it does not,
    and neither does it with bridging off."""
    x = raised_cosine(3, 3.0)
    gap = slice(int(4.2 * FPS) + 1, int(6.0 * FPS))
    x[gap] = np.nan
    res = count(x)
    assert res.count == 3
    assert 4.0 <= res.reps[1].peak_s <= 4.2 + ONE_FRAME
    assert count(x, settings=RepSettings(max_bridge_s=1.0)).count == 2
    shifted = x.copy()
    shifted[int(6.0 * FPS) :] -= 1.0
    assert count(shifted).count == 2


def test_one_rep_counts_one():
    x = np.concatenate([np.zeros(30), raised_cosine(1, 2.0), np.zeros(30)])
    res = count(x)
    assert res.count == 1
    assert res.reps[0].peak_s == pytest.approx(2.0, abs=ONE_FRAME)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_flat_noise_counts_zero(seed):
    rng = np.random.default_rng(seed)
    res = count(rng.normal(0, 0.01, 600))  # 1 cm-ish jitter of a still body for 20 s
    assert res.count == 0
    assert res.partial == ()


def test_all_nan_counts_zero_with_zero_confidence():
    res = count(np.full(100, np.nan))
    assert res.count == 0
    assert res.confidence == 0.0
    assert np.isnan(res.period_s)


def test_half_depth_rep_is_reported_as_partial_not_counted():
    x = raised_cosine(5, 2.0)
    third = slice(int(4 * FPS), int(6 * FPS) + 1)
    x[third] *= 0.45
    res = count(x)
    assert res.count == 4
    assert [r.index for r in res.reps] == [1, 2, 3, 4]
    assert len(res.partial) == 1
    p = res.partial[0]
    assert p.partial and p.index == 0
    assert p.peak_s == pytest.approx(5.0, abs=ONE_FRAME)
    assert p.depth == pytest.approx(0.45, abs=0.05)


def test_double_bump_within_one_rep_is_not_double_counted():
    # up to 1.0, a 35% dip, back to 0.95, down to rest: one rep with a wobbly top
    x = pchip_reps([0, 0.8, 1.2, 1.6, 2.0, 2.8], [0, 1.0, 0.65, 0.95, 0.3, 0], 4)
    res = count(x)
    assert res.count == 4
    assert res.partial == ()


def test_slow_reps_with_six_second_descents():
    # squat-like: 1 s standing, 6 s lowering (the signal rises to its peak), 1.5 s back up
    x = pchip_reps([0, 1.0, 7.0, 8.5], [0, 0, 1.0, 0], 3)
    res = count(x)
    assert res.count == 3
    assert np.abs(np.array([r.peak_s for r in res.reps]) - (7.0 + 8.5 * np.arange(3))).max() <= ONE_FRAME


@pytest.mark.parametrize("fps", [15.0, 30.0])
def test_fast_two_hz_reps(fps):
    x = raised_cosine(20, 0.5, fps=fps, amp=0.4)  # jump rope: 2 per second, small bounce
    res = count(x, fps=fps)
    assert res.count == 20
    assert res.period_s == pytest.approx(0.5, rel=0.05)


def test_rep_cut_at_its_top_by_the_end_counts_but_one_cut_on_the_way_up_does_not():
    x = raised_cosine(4, 2.0)
    at_top = x[: int(7.0 * FPS) + 1]  # ends right at the 4th peak
    assert count(at_top).count == 4
    on_the_way = x[: int(6.6 * FPS)]  # ends at ~65% of the 4th rise, still moving fast
    assert count(on_the_way).count == 3


def test_rep_whose_start_was_not_filmed_counts_when_its_extreme_is_seen():
    x = raised_cosine(4, 2.0)[int(0.8 * FPS) :]  # filming starts at 90% of the first rise
    assert count(x).count == 4


def test_lone_one_way_movement_is_not_a_rep():
    x = np.concatenate([np.zeros(30), np.linspace(0, 2.0, 90), np.full(10, 2.0)])  # e.g. walking in
    assert count(x).count == 0


def test_trend_under_the_reps_does_not_change_the_count():
    x = raised_cosine(6, 1.5) + np.linspace(0, 1.5, round(6 * 1.5 * FPS) + 1)
    assert count(x).count == 6


def test_timestamps_drive_the_reported_times():
    x = raised_cosine(3, 2.0)
    ts = 10.0 + np.arange(x.size) / FPS
    res = count_reps(x, ts, fps=FPS)
    assert res.reps[0].peak_s == pytest.approx(11.0, abs=ONE_FRAME)


def test_result_types_are_frozen_and_signal_read_only():
    res = count(raised_cosine(2, 2.0))
    assert isinstance(res.reps[0], Rep)
    with pytest.raises(AttributeError):
        res.reps[0].index = 3  # type: ignore[misc]
    with pytest.raises(ValueError):
        res.signal[0] = 1.0


@pytest.mark.parametrize(
    "signal,ts,fps,match",
    [
        (np.zeros((10, 2)), np.arange(10.0), 30.0, r"signal must be 1-D \(T,\), got shape \(10, 2\)"),
        (np.zeros(10), np.arange(9.0), 30.0, r"timestamps_s must have shape \(10,\), got \(9,\)"),
        (np.zeros(10), np.arange(10.0), 0.0, "fps must be a positive number, got 0.0"),
    ],
)
def test_bad_inputs_say_expected_vs_got(signal, ts, fps, match):
    with pytest.raises(ValueError, match=match):
        count_reps(signal, ts, fps=fps)


def test_amplitude_floor_is_a_setting():
    x = raised_cosine(4, 2.0, amp=0.05)  # 5 cm curls: under the default 0.1 torso floor
    assert count(x).count == 0
    assert count(x, settings=RepSettings(min_amplitude=0.02)).count == 4


# --- building blocks ------------------------------------------------------------------------------


def test_estimate_period_of_a_sine():
    x = np.sin(2 * np.pi * np.arange(300) / 40.0)
    period, corr = estimate_period(x, [(0, 300)], fps=FPS)
    assert period == pytest.approx(40.0, rel=0.02)
    assert corr > 0.9


def test_estimate_period_prefers_the_period_over_its_multiple():
    # reps alternating in depth correlate best at two periods; the period is still one rep
    t = np.arange(480)
    x = 0.5 * (1 - np.cos(2 * np.pi * t / 40.0)) * np.where((t // 40) % 2 == 0, 1.0, 0.7)
    period, _ = estimate_period(x, [(0, 480)], fps=FPS)
    assert period == pytest.approx(40.0, rel=0.05)


def test_single_excursion_has_no_period():
    period, _ = estimate_period(raised_cosine(1, 4.0), [(0, 121)], fps=FPS)
    assert np.isnan(period)


def test_typical_amplitude_is_the_median_of_the_most_common_rises():
    assert typical_amplitude(np.array([1.0, 0.9, 1.1, 0.2])) == pytest.approx(1.0)  # a partial rep
    assert typical_amplitude(np.array([1.0, 0.95, 1.05, 1.1, 4.0])) == pytest.approx(1.025)  # a glitch
    assert typical_amplitude(np.array([0.7])) == pytest.approx(0.7)  # one rep sets its own scale
    assert np.isnan(typical_amplitude(np.array([])))


def test_a_glitch_far_above_the_set_does_not_make_its_reps_partial():
    x = np.concatenate([np.zeros(60), raised_cosine(5, 2.0), np.zeros(60)])
    x[20:26] = 4.0  # a 0.2-s landmark jump (e.g. a title card) before the set
    res = count(x)
    assert sum(r.depth == pytest.approx(1.0, abs=0.1) for r in res.reps) == 5
    assert res.partial == ()


def test_orientation_follows_the_rest_at_both_ends():
    x = raised_cosine(3, 2.0)
    assert np.allclose(orient_peaks_up(x), x)
    assert np.allclose(orient_peaks_up(-x), x)  # rest high (e.g. arms up) is flipped
    assert robust_skew(np.array([0, 0, 0, 0, 0, 0, 0, 0, 1, 1.0])) > 0


# --- generic counter on synthetic landmarks -----------------------------------------------------------


def _body(t: int) -> np.ndarray:
    """A still frontal figure in torso lengths (x right, y down), (t, 33, 2)."""
    xy = np.full((t, N_LANDMARKS, 2), np.nan)
    pts = {
        L.NOSE: (0.0, -1.4),
        L.LEFT_SHOULDER: (0.4, -1.0),
        L.RIGHT_SHOULDER: (-0.4, -1.0),
        L.LEFT_ELBOW: (0.5, -0.5),
        L.RIGHT_ELBOW: (-0.5, -0.5),
        L.LEFT_WRIST: (0.5, 0.0),
        L.RIGHT_WRIST: (-0.5, 0.0),
        L.LEFT_HIP: (0.2, 0.0),
        L.RIGHT_HIP: (-0.2, 0.0),
        L.LEFT_KNEE: (0.2, 0.9),
        L.RIGHT_KNEE: (-0.2, 0.9),
        L.LEFT_ANKLE: (0.2, 1.8),
        L.RIGHT_ANKLE: (-0.2, 1.8),
        L.LEFT_HEEL: (0.2, 1.9),
        L.RIGHT_HEEL: (-0.2, 1.9),
        L.LEFT_FOOT_INDEX: (0.25, 1.95),
        L.RIGHT_FOOT_INDEX: (-0.25, 1.95),
    }
    for lm, p in pts.items():
        xy[:, lm] = p
    return xy


def _raises(n_reps: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(lift (T,), xy (T, 33, 2)): a still figure with a little noise whose hands rise 1.2 torso
    lengths (elbows 0.6) and return, n_reps times in 2.5 s each."""
    lift = raised_cosine(n_reps, 2.5)
    xy = _body(lift.size)
    xy += np.random.default_rng(seed).normal(0, 0.005, xy.shape)
    for wrist, elbow in ((L.LEFT_WRIST, L.LEFT_ELBOW), (L.RIGHT_WRIST, L.RIGHT_ELBOW)):
        xy[:, wrist, 1] -= 1.2 * lift
        xy[:, elbow, 1] -= 0.6 * lift
    return lift, xy


def test_generic_counts_front_raises_from_landmarks_alone():
    lift, xy = _raises(5, seed=3)
    res = count_reps_generic(xy, times(lift), fps=FPS)
    assert res.method == "generic"
    assert res.count == 5
    assert np.abs(np.array([r.peak_s for r in res.reps]) - (np.arange(5) + 0.5) * 2.5).max() <= 2 * ONE_FRAME


def test_generic_counts_on_when_an_arm_leaves_the_picture_for_good():
    """The far arm is lost for the last 30% of the set (it left the picture): those frames are
    projected on the components with the landmarks they have, so every raise counts, at full depth.
    Before, the lost arm ended the signal there (3 of 5), and holding its last position made the
    later raises shallow enough to read as partial."""
    lift, xy = _raises(5, seed=5)
    full_scores, _ = generic_components(xy)
    cut = int(0.7 * lift.size)  # the arm is seen in 70% of the frames: it is one of the features
    xy[cut:, [L.RIGHT_WRIST, L.RIGHT_ELBOW]] = np.nan
    scores, share = generic_components(xy)
    assert np.isfinite(scores[:, 0]).all()
    assert share[0] > 0.9
    # the lost frames move as the whole body did (up to the component's sign and centre)
    assert abs(np.corrcoef(scores[cut:, 0], full_scores[cut:, 0])[0, 1]) > 0.99
    assert np.ptp(scores[cut:, 0]) == pytest.approx(np.ptp(scores[:cut, 0]), rel=0.05)  # full depth
    res = count_reps_generic(xy, times(lift), fps=FPS)
    assert res.count == 5 and not res.partial


def test_generic_counts_reps_on_top_of_a_larger_drift():
    """The whole body drifts down the picture (a camera tilting, a lifter sliding) twice as far
    as the hands rise: the drift and the reps share the main component. With the drift removed
    (a straight line fitted to the component) the raises count; before, 1 of 4 was found."""
    lift, xy = _raises(4, seed=5)
    still = count_reps_generic(xy, times(lift), fps=FPS)
    xy[..., 1] += np.linspace(0.0, 2.0, lift.size)[:, None]
    res = count_reps_generic(xy, times(lift), fps=FPS)
    assert still.count == res.count == 4
    peaks = np.array([r.peak_s for r in res.reps])
    assert np.abs(peaks - np.array([r.peak_s for r in still.reps])).max() <= 3 * ONE_FRAME


def test_generic_keeps_a_drift_smaller_than_the_reps():
    """A drift under the reps' own range is left in the signal (removing small drifts cost a rep on
    a real bar-lift clip): the signal equals the component's, up to its sign."""
    lift = raised_cosine(4, 2.5)
    xy = _body(lift.size)
    for wrist in (L.LEFT_WRIST, L.RIGHT_WRIST):
        xy[:, wrist, 1] -= 1.2 * lift
    xy[..., 1] += np.linspace(0.0, 0.2, lift.size)[:, None]
    sig = generic_signal(xy, fps=FPS)
    comp = generic_components(xy)[0][:, 0]
    assert np.allclose(np.abs(sig), np.abs(comp), equal_nan=True)


def test_generic_components_leave_frames_with_under_half_the_landmarks_unknown():
    lift = raised_cosine(4, 2.0)
    xy = _body(lift.size)
    xy[:, L.LEFT_WRIST, 1] -= lift
    xy[100:120, :, :] = np.nan
    xy[100:120, [L.NOSE, L.LEFT_SHOULDER, L.RIGHT_SHOULDER]] = 0.0  # 3 of 17 core landmarks seen
    scores, _ = generic_components(xy)
    assert np.isnan(scores[100:120]).all()
    assert np.isfinite(scores[:100, 0]).all() and np.isfinite(scores[120:, 0]).all()


def test_generic_signal_is_oriented_with_the_working_extreme_up():
    lift = raised_cosine(3, 2.0)
    xy = _body(lift.size)
    xy[:, L.LEFT_WRIST, 1] += 1.0 * lift  # whichever way the component's sign falls
    sig = generic_signal(xy, fps=FPS)
    assert np.argmax(sig) == pytest.approx(np.argmax(lift), abs=2)


def test_generic_still_body_counts_zero():
    rng = np.random.default_rng(4)
    xy = _body(300) + rng.normal(0, 0.005, (300, N_LANDMARKS, 2))
    assert count_reps_generic(xy, times(np.zeros(300)), fps=FPS).count == 0


def test_generic_rejects_a_wrong_shape():
    with pytest.raises(ValueError, match=r"xy must have shape \(T, 33, 2\), got \(10, 17, 2\)"):
        count_reps_generic(np.zeros((10, 17, 2)), np.arange(10.0), fps=FPS)


def test_pose_counter_falls_back_to_generic_when_the_exercise_signal_is_unseen():
    lift = raised_cosine(4, 2.0)
    xy = _body(lift.size)
    xy[:, L.LEFT_WRIST, 1] -= lift
    xy[:, L.RIGHT_WRIST, 1] -= lift
    ts = times(lift)

    def hidden(_xy):  # e.g. ankles behind the plates: the exercise signal is never defined
        return np.full(_xy.shape[0], np.nan)

    res = count_reps_pose(xy, ts, fps=FPS, signal_fn=hidden)
    assert res.method == "generic"
    assert res.count == 4
    seen = count_reps_pose(xy, ts, fps=FPS, signal_fn=lambda a: -a[:, L.LEFT_WRIST, 1])
    assert seen.method == "exercise"
    assert seen.count == 4


def _climb(n_cycles: int, body_amp: float) -> tuple[np.ndarray, np.ndarray]:
    """Hands rising twice per 2-s cycle, back to rest each time (a tall quick reach, then a low
    slow one), while the whole body rises once per cycle by body_amp torso lengths."""
    hands = pchip_reps([0, 0.2, 0.45, 0.7, 0.8, 1.3, 1.8, 2.0], [0, 0, 1.0, 0, 0, 0.6, 0, 0], n_cycles)
    body = raised_cosine(n_cycles, 2.0)[: hands.size]
    xy = _body(hands.size)
    xy[:, :, 1] -= body_amp * body[:, None]
    xy[:, [L.LEFT_WRIST, L.RIGHT_WRIST], 1] -= hands[:, None]
    return xy, times(hands)


def _hands_over_shoulder(xy: np.ndarray) -> np.ndarray:
    return -(xy[:, L.LEFT_WRIST, 1] - xy[:, L.LEFT_SHOULDER, 1])


def test_a_signal_peaking_twice_per_body_cycle_counts_one_rep_per_cycle():
    """The hands' signal returns to rest twice per cycle and its autocorrelation repeats only every
    2 s; the whole body rises once per cycle: 5 cycles are 5 reps, not 10."""
    xy, ts = _climb(5, body_amp=0.6)
    alone = count(_hands_over_shoulder(xy))
    assert alone.count == 10  # the signal alone: two excursions per cycle
    assert alone.period_s == pytest.approx(2.0, abs=0.1)
    res = count_reps_pose(xy, ts, fps=FPS, signal_fn=_hands_over_shoulder)
    assert (res.count, res.method) == (5, "generic")
    assert np.diff([r.peak_s for r in res.reps]) == pytest.approx(2.0, abs=0.1)


def test_reps_alternating_in_shape_stay_reps_when_the_whole_body_moves_with_each():
    """Same hump pattern, but the whole body makes each excursion (a squat set alternating deep and
    shallow): the signal's period is two reps, yet the body's reps are one rep apart: 10 reps."""
    hands = pchip_reps([0, 0.2, 0.45, 0.7, 0.8, 1.3, 1.8, 2.0], [0, 0, 1.0, 0, 0, 0.7, 0, 0], 5)
    xy = _body(hands.size)
    xy[:, :, 1] -= hands[:, None]

    def hips_up(a):
        return -a[:, L.LEFT_HIP, 1]

    assert count(hips_up(xy)).period_s == pytest.approx(2.0, abs=0.1)  # the two-rep period
    res = count_reps_pose(xy, times(hands), fps=FPS, signal_fn=hips_up)
    assert (res.count, res.method) == (10, "exercise")


# --- real clips through MediaPipe -----------------------------------------------------------------
# Counts on these clips are asserted exactly: the clips are clean and the counter has margin on them
# (the full reps reach their set's depth, far above partial_fraction); walking is the negative
# control. The squat's first rep starts as the lifter settles: its depth depends on the tracking
# path (0.84 of the set's on MediaPipe's graph, 0.66 on OpenVINO, 2026-12-02), so the margin is
# asserted on the reps after it.

REAL = {
    # path: (exercise or None for generic, true reps)
    "videos/formfit-jrplatin/squat.mp4": ("squat", 3),
    "videos/gym-rom-wissem/bicep_curls.mp4": ("bicep_curl", 5),
    "videos/nadamarie-dataset/walking.mp4": (None, 0),
}


@pytest.fixture(scope="module")
def real_poses():
    """Landmarks of each real clip, extracted once per test module (about 15 s in all)."""
    from coach.clean import clean_poses
    from coach.pose import extract_poses
    from coach.video import iter_frames, probe

    cache = {}

    def get(rel: str):
        if rel not in cache:
            from tests.conftest import shared_path

            path = shared_path(rel)
            info = probe(path)
            seq = extract_poses(
                iter_frames(path, max_side=640), fps=info.fps, frame_size=(info.width, info.height)
            )
            cache[rel] = clean_poses(seq).poses
        return cache[rel]

    return get


@pytest.mark.shared
@pytest.mark.slow
@pytest.mark.parametrize("rel", list(REAL))
def test_real_clip_rep_count(real_poses, rel):
    from coach.exercises import EXERCISES
    from coach.normalize import robust_scale_px

    exercise, true = REAL[rel]
    poses = real_poses(rel)
    xy = np.asarray(poses.xy, dtype=np.float64)
    xy = xy / robust_scale_px(xy)
    fn = EXERCISES[exercise].signal if exercise else None
    res = count_reps_pose(xy, poses.timestamps_s, fps=poses.fps, signal_fn=fn)
    assert res.count == true, f"{rel}: expected {true} reps, got {res.count} ({res.method})"
    assert all(r.depth >= 0.75 for r in res.reps[1:])
    if true >= 2:
        assert res.period_s == pytest.approx(poses.duration_s / (true + 0.5), rel=0.35)


def test_an_exercise_that_moves_little_lowers_the_rep_floor_only_for_itself():
    """A shrug lifts the shoulders ~0.16 torso lengths: its own floor (0.04) replaces the generic
    0.1; exercises without one keep the settings as they are."""
    from coach.exercises import EXERCISES

    base = RepSettings()
    assert EXERCISES["squat"].rep_settings(base) is base
    assert EXERCISES["shrug"].rep_settings(base).min_amplitude == pytest.approx(0.04)
    assert EXERCISES["shrug"].rep_settings(RepSettings(min_amplitude=0.02)).min_amplitude == pytest.approx(0.02)
    # a 0.06-torso shrug every 2 s: no rep at the generic floor, three at the shrug's
    t = np.arange(0, 6.0, 1 / 30)
    sig = 0.03 * (1 - np.cos(2 * np.pi * t / 2.0))
    assert count_reps(sig, t, fps=30.0, settings=base).count == 0
    assert count_reps(sig, t, fps=30.0, settings=EXERCISES["shrug"].rep_settings(base)).count == 3


@pytest.mark.shared
@pytest.mark.slow
def test_real_climb_counts_one_rep_per_cycle_of_the_whole_body(real_poses):
    """QUVA 022 (a climber pulling up a wall ladder hand over hand, 5 cycles counted by its
    annotators): the pull-up signal (shoulders towards the hands) rises with each hand's reach, 7-10
    times depending on the tracking path; the whole body rises 5 times."""
    from coach.exercises import EXERCISES
    from coach.normalize import robust_scale_px

    poses = real_poses("videos/quva-speed-counting/videos/022_fitness.mp4")
    xy = np.asarray(poses.xy, dtype=np.float64)
    xy = xy / robust_scale_px(xy)
    signal = EXERCISES["pull_up"].signal
    assert count_reps(signal(xy), poses.timestamps_s, fps=poses.fps).count >= 7
    res = count_reps_pose(xy, poses.timestamps_s, fps=poses.fps, signal_fn=signal)
    assert (res.count, res.method) == (5, "generic")
