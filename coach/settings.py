"""Every tunable of the engine, in one place, with units. Frozen: pass a modified copy
(`dataclasses.replace`) instead of mutating a shared default."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class VideoSettings:
    max_side_px: int = 640  # decode size for the pose model (it works on ~256 px crops)
    max_bytes: int = 500_000_000  # upload limit, bytes
    max_duration_s: float = 600.0  # longest clip analysed, seconds
    pose_workers: int = 2  # processes running the pose model on halves of a long clip (2-core target)
    # a 60 fps phone clip is analysed at 30 fps (every 2nd frame): movements of a rep are far slower
    # than 15 Hz, and the pose model's time halves
    max_analysis_fps: float = 30.0


@dataclass(frozen=True)
class CleanSettings:
    min_visibility: float = 0.5  # landmarks below this MediaPipe visibility are treated as missing
    max_gap_s: float = 0.25  # gaps up to this long are interpolated; longer ones are reported
    smooth_window_s: float = 0.2  # Savitzky-Golay window, seconds (keeps rep extremes, unlike a mean)
    smooth_polyorder: int = 2
    max_jump_torso_per_frame: float = 0.6  # a landmark jumping further than this (torso lengths) is a glitch
    min_run_s: float = 0.05  # a landmark seen for less than this between longer gaps is a glitch too


@dataclass(frozen=True)
class RepSettings:
    """Rep segmentation (coach/reps.py). Amplitudes are in the signal's units (torso lengths for
    pose signals) or shares of the set's typical rep amplitude (the median of its most common rises)."""

    min_rep_s: float = 0.3  # shortest plausible repetition (peak to peak), seconds; jump rope is ~0.5 s
    max_rep_s: float = 12.0  # longest plausible repetition, seconds (6-s descents fit)
    min_amplitude: float = 0.1  # a rep must move the signal at least this much (torso lengths); below = no movement
    min_prominence: float = 0.3  # of the typical amplitude: a smaller excursion is jitter, not even a partial rep
    partial_fraction: float = 0.6  # a rep reaching less than this share of the typical depth is partial
    edge_fraction: float = 0.8  # a rep seen on one side only (cut by the clip) counts if that side reaches this share
    min_return: float = 0.5  # between two reps the signal falls back at least this share of the lower one's rise
    max_gap_s: float = 0.5  # signal gaps up to this long are interpolated; longer gaps split the signal
    max_bridge_s: float = 2.0  # a longer gap at a rep's extreme (near the top on both sides) still joins the rep
    rest_band: float = 0.15  # of the rep's amplitude: a rep starts/ends where it leaves/reaches its rest level
    min_periodicity: float = 0.3  # autocorrelation needed to trust a period estimate (0..1)
    min_spacing_periods: float = 0.45  # two peaks closer than this share of the period are one rep
    min_signal_coverage: float = 0.5  # below this share of person frames, an exercise signal falls back to generic
    generic_components: int = 3  # principal components the generic counter may choose from


@dataclass(frozen=True)
class CompareSettings:
    dtw_window_frac: float = 0.25  # Sakoe-Chiba band as a share of the longer sequence
    resample_fps: float = 15.0  # both sequences are resampled to this rate before DTW
    min_tolerance_deg: float = 12.0  # floor for the angle tolerance: 2-D pose noise + anatomy, degrees
    # floor for angles every good performer holds straight (a push-up's shoulder-hip-ankle line):
    # anatomy does not move them, so it covers 2-D pose noise (the side-view hip wobbles a few
    # degrees) and no more: a sag shows from about 10 degrees, degrees
    straight_tolerance_deg: float = 8.0
    min_tolerance_pos: float = 0.2  # floor for the position tolerance (limb ratios differ), torso lengths
    tolerance_per_rom: float = 0.15  # extra angle tolerance per degree of the reference's range of motion
    position_weight: float = 0.0  # share of landmark positions in a rep's score: 0, limb ratios differ between people
    # Score = 100 * exp(-mean over judged joints of (deviation / tolerance)^2 / 2 / k), see compare.py
    score_softness: float = 2.0
    pass_threshold: float = 70.0  # passes at or above; best balanced accuracy on the labelled push-up clips
    # an angle whose 90th percentile of |second difference| per frame at resample_fps is above this
    # (degrees) jumps between poses rather than moving: the pose model lost the joint, it is not judged.
    # A fast jumping jack reads ~40, most clips under 30.
    max_angle_jerk_deg: float = 75.0


@dataclass(frozen=True)
class AnalysisSettings:
    video: VideoSettings = field(default_factory=VideoSettings)
    clean: CleanSettings = field(default_factory=CleanSettings)
    reps: RepSettings = field(default_factory=RepSettings)
    compare: CompareSettings = field(default_factory=CompareSettings)


DEFAULT_SETTINGS = AnalysisSettings()
