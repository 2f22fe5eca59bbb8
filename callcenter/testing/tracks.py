"""Synthetic tracks for ``callcenter.client.media.CallMedia``: a sine tone (so codecs send real
payload and a recording shows who said what) and a small grey video (cheap to encode).

    media = CallMedia(client, tracks=tone_tracks(440))

aiortc and PyAV are imported when a track is made (the `media` extra).
"""

from __future__ import annotations

import array
import asyncio
import fractions
import math
import time
from typing import TYPE_CHECKING

from callcenter.client.media import TrackFactory

if TYPE_CHECKING:
    from aiortc import MediaStreamTrack

__all__ = ["synthetic_tracks", "small_video_track", "tone_track", "tone_tracks"]


def tone_track(frequency: int = 400, sample_rate: int = 8000,
               amplitude: int = 8000) -> MediaStreamTrack:
    """An audio track playing a steady sine tone (not silence, so codecs send real payload).

    20 ms frames of s16 mono at `sample_rate`. The tone keeps its phase from frame to frame (a
    frame-periodic tone would only hold multiples of 50 Hz): one buffer of whole cycles that is
    also a whole number of frames (at most a second) is computed once and played in a loop.
    """
    from aiortc.mediastreams import AUDIO_PTIME, AudioStreamTrack, MediaStreamError
    from av import AudioFrame

    samples = int(AUDIO_PTIME * sample_rate)
    period = sample_rate // math.gcd(int(frequency), sample_rate)  # samples of whole cycles
    loop_samples = period * samples // math.gcd(period, samples)
    pcm = array.array("h", (int(amplitude * math.sin(2 * math.pi * frequency * i / sample_rate))
                            for i in range(loop_samples))).tobytes()
    frames = [pcm[i * 2:(i + samples) * 2] for i in range(0, loop_samples, samples)]

    class ToneTrack(AudioStreamTrack):
        async def recv(self):  # type: ignore[override]
            if self.readyState != "live":
                raise MediaStreamError
            if hasattr(self, "_timestamp"):
                self._timestamp += samples
                await asyncio.sleep(self._start + self._timestamp / sample_rate - time.time())
            else:
                self._start = time.time()
                self._timestamp = 0
            frame = AudioFrame(format="s16", layout="mono", samples=samples)
            frame.planes[0].update(frames[(self._timestamp // samples) % len(frames)])
            frame.pts = self._timestamp
            frame.sample_rate = sample_rate
            frame.time_base = fractions.Fraction(1, sample_rate)
            return frame

    return ToneTrack()


def small_video_track(width: int = 160, height: int = 120) -> MediaStreamTrack:
    """A small grey video track: cheap to encode, so tests can afford video on 2 cores."""
    from aiortc.mediastreams import VideoStreamTrack
    from av import VideoFrame

    class SmallVideoTrack(VideoStreamTrack):
        async def recv(self):  # type: ignore[override]
            pts, time_base = await self.next_timestamp()
            frame = VideoFrame(width=width, height=height)
            for plane in frame.planes:
                plane.update(bytes([128]) * plane.buffer_size)
            frame.pts = pts
            frame.time_base = time_base
            return frame

    return SmallVideoTrack()


def synthetic_tracks(audio: bool = True, video: bool = False) -> TrackFactory:
    """A factory of fresh tracks per peer connection (a track feeds one sender only): a 400 Hz
    tone and a small grey video."""
    def factory() -> list[MediaStreamTrack]:
        tracks: list[MediaStreamTrack] = []
        if audio:
            tracks.append(tone_track())
        if video:
            tracks.append(small_video_track())
        return tracks
    return factory


def tone_tracks(frequency: int, *, video: bool = False,
                sample_rate: int = 48000) -> TrackFactory:
    """A factory of fresh tracks playing a sine of `frequency` Hz (48 kHz, 20 ms frames), plus a
    small video track with `video`: tells apart who said what in a recording."""
    def factory() -> list[MediaStreamTrack]:
        tracks: list[MediaStreamTrack] = [tone_track(frequency, sample_rate)]
        if video:
            tracks.append(small_video_track())
        return tracks
    return factory
