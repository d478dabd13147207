"""Capture of real traffic: a recording reverse proxy in front of Talon.One (``proxy``), what it does
with each exchange (``recorder``: story, sampling, validation, redaction, the secret check), the
story of an exchange (``stories``) and the files it writes (``writer``)."""

from replay.capture.proxy import CaptureProxy
from replay.capture.recorder import CaptureStats, Exchange, Recorder
from replay.capture.stories import Sampler, Stories, parse_sample
from replay.capture.writer import CaptureWriter, Rotation, parse_rotation

__all__ = [
    "CaptureProxy", "CaptureStats", "CaptureWriter", "Exchange", "Recorder", "Rotation", "Sampler", "Stories",
    "parse_rotation", "parse_sample",
]  # fmt: skip
