"""Instructor test: the committed ICA source tracks (data/ica/*.wav) are what
data/ica/make_sources.py documents (files, sample rate, length, format; not a
hash of the synthesised audio, which only espeak-ng can regenerate)."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from scipy.io import wavfile

DATA = Path(__file__).resolve().parents[2] / "data" / "ica"


def spec():
    """The regenerating script as a module (importing it runs nothing)."""
    loader = importlib.util.spec_from_file_location("ica_make_sources", DATA / "make_sources.py")
    module = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(module)
    return module


def test_every_documented_track_is_committed():
    """The folder holds exactly the WAV files that make_sources.TRACKS lists."""
    names = [name for name, _, _ in spec().TRACKS]
    assert len(names) == 5
    assert sorted(p.name for p in DATA.glob("*.wav")) == sorted(names)


@pytest.mark.parametrize("index", range(5))
def test_track_has_the_documented_format(index):
    """Mono 16-bit PCM at RATE Hz, exactly N_SAMPLES samples, peak PEAK of full scale, not silent."""
    s = spec()
    assert s.N_SAMPLES == s.RATE * s.SECONDS == 55125
    name = s.TRACKS[index][0]
    rate, pcm = wavfile.read(DATA / name)
    assert rate == s.RATE, f"{name}: {rate} Hz, expected {s.RATE}"
    assert pcm.dtype == np.int16 and pcm.ndim == 1, f"{name}: {pcm.dtype}, shape {pcm.shape}; expected mono int16"
    assert pcm.shape == (s.N_SAMPLES,), f"{name}: {pcm.shape[0]} samples, expected {s.N_SAMPLES}"
    peak = np.abs(pcm.astype(float)).max() / 32767
    assert abs(peak - s.PEAK) < 1e-3, f"{name}: peak {peak:.4f} of full scale, expected {s.PEAK}"
    assert pcm.astype(float).std() > 0.02 * 32767, f"{name} is (nearly) silent"
