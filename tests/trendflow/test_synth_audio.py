"""Synthetic audio: shapes for every rate/channel count, loudness targets, tempo a beat tracker finds."""

from __future__ import annotations

import math

import numpy as np
import pytest

from trendflow.synth import audio


@pytest.mark.parametrize("sr", [8000, 16000, 22050, 44100, 48000])
@pytest.mark.parametrize("channels", [1, 2])
def test_every_generator_returns_channels_by_samples_float32(sr, channels):
    d = 1.5
    waves = [audio.silence(d, sr, channels), audio.sine(440, d, sr, channels),
             audio.noise(d, sr, channels, color="pink"), audio.click_track(100, d, sr, channels),
             audio.drum_pattern(100, d, sr, channels)]
    for w in waves:
        assert w.shape == (channels, int(round(d * sr))) and w.dtype == np.float32
        assert np.all(np.abs(w) <= 1.0)
    assert not np.any(waves[0])


def test_sine_loudness_matches_bs1770_reference_level():
    # BS.1770: a 997 Hz sine at full scale in one channel reads -3.01 LUFS, so amplitude 0.1 reads -23.01.
    x = audio.sine(997, 3.0, 48000, amplitude=0.1)
    assert audio.integrated_lufs(x, 48000) == pytest.approx(-23.01, abs=0.05)


@pytest.mark.parametrize("make, sr", [
    (lambda lufs: audio.drum_pattern(128, 6.0, 22050, 2, lufs=lufs), 22050),
    (lambda lufs: audio.noise(6.0, 16000, 1, color="pink", lufs=lufs, seed=3), 16000),
    (lambda lufs: audio.sine(220, 6.0, 44100, 2, lufs=lufs), 44100),
    (lambda lufs: audio.click_track(90, 6.0, 48000, 1, lufs=lufs), 48000),
])
@pytest.mark.parametrize("target", [-36.0, -28.0])  # a click track has peaks: -24 would clip
def test_loudness_targets_are_met(make, sr, target):
    assert audio.integrated_lufs(make(target), sr) == pytest.approx(target, abs=0.05)


def test_unreachable_loudness_raises_or_reduces():
    with pytest.raises(ValueError, match="clipping"):
        audio.click_track(60, 4.0, 16000, lufs=-3)
    x = audio.drum_pattern(90, 4.0, 16000, lufs=-3, on_clip="reduce")
    assert audio.peak(x) == pytest.approx(0.99, abs=1e-6) and audio.integrated_lufs(x, 16000) < -3
    with pytest.raises(ValueError, match="silence"):
        audio.normalize_lufs(audio.silence(2.0, 16000), 16000, -20)
    assert audio.integrated_lufs(audio.silence(2.0, 16000), 16000) == -math.inf
    with pytest.raises(ValueError, match="0.4"):
        audio.integrated_lufs(audio.sine(440, 0.2, 16000), 16000)


@pytest.mark.parametrize("bpm", [72.0, 96.0, 128.0, 165.0])
def test_drum_tempo_is_what_a_beat_tracker_finds(bpm):
    import librosa

    sr = 22050
    x = audio.drum_pattern(bpm, 15.0, sr, 2, lufs=-20)
    tempo, beats = librosa.beat.beat_track(y=x.mean(axis=0), sr=sr)
    assert float(np.atleast_1d(tempo)[0]) == pytest.approx(bpm, rel=0.04)
    # the tracked beats sit on the planted beat grid (within 30 ms)
    planted = audio.beat_times(bpm, 15.0)
    found = librosa.frames_to_time(beats, sr=sr)
    assert np.median(np.min(np.abs(found[:, None] - planted[None, :]), axis=1)) < 0.03


def test_click_track_energy_sits_on_the_beats():
    sr = 16000
    x = audio.click_track(120, 4.0, sr, offset_s=0.1)[0]
    onsets = np.flatnonzero((np.abs(x[1:]) > 0.05) & (np.abs(x[:-1]) <= 0.05))
    first_of_each = onsets[np.r_[True, np.diff(onsets) > sr * 0.1]] / sr
    assert np.allclose(first_of_each, audio.beat_times(120, 4.0, 0.1), atol=0.002)


def test_pink_noise_has_more_low_than_high_energy():
    sr = 16000
    for color, expect_ratio in (("white", (0.7, 1.4)), ("pink", (4.0, 1e9))):
        x = audio.noise(4.0, sr, color=color, seed=1)[0]
        spec = np.abs(np.fft.rfft(x)) ** 2
        f = np.fft.rfftfreq(x.size, 1 / sr)
        ratio = spec[(f > 100) & (f < 400)].mean() / spec[(f > 3000) & (f < 6000)].mean()
        assert expect_ratio[0] < ratio < expect_ratio[1], color
    a, b = audio.noise(1.0, sr, 2, seed=1)
    assert abs(np.corrcoef(a, b)[0, 1]) < 0.1  # stereo noise channels are independent


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError):
        audio.sine(9000, 1.0, 16000)
    with pytest.raises(ValueError):
        audio.silence(1.0, 16000, channels=3)
    with pytest.raises(ValueError):
        audio.noise(1.0, 16000, color="blue")
    with pytest.raises(ValueError):
        audio.beat_times(0, 1.0)
