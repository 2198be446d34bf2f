"""Errors a user can act on. Each message is one line: what was expected, what was found."""

from __future__ import annotations


class CoachError(Exception):
    """Base class: bad input or an impossible request, reported to the user as one line."""


class VideoError(CoachError):
    """The file is not a decodable video (not a video, empty, truncated, no frames, bad fps)."""


class PoseError(CoachError):
    """No usable person found, or keypoints are unusable (mostly out of frame, too few frames)."""


class KeypointFileError(CoachError):
    """A keypoint file (npz, csv, OpenPose JSON) is malformed."""


class ReferenceLibraryError(CoachError):
    """A reference is missing, corrupt, or cannot be added."""


class InputTooLargeError(CoachError):
    """The input exceeds a stated size or duration limit."""
