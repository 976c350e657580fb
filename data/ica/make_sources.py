"""Regenerate the five source tracks of the ICA assignment (data/ica/*.wav).

What the committed files are (tests/ica/test_ica_data.py checks it):

- five mono WAV files, 16-bit signed PCM, ``RATE`` = 11025 Hz,
  exactly ``N_SAMPLES`` = 55125 samples (``SECONDS`` = 5 s) each, in the order of
  ``TRACKS``;
- three synthetic voices spoken by Debian's ``espeak-ng`` (1.51) with
  ``-s 150 -p 40`` and the voices en-us, en-gb+f3 and en-us+m7, synthesised at
  22050 Hz and halved with ``scipy.signal.resample_poly(x, 1, 2)``, cut or
  zero-padded to 5 s;
- two music-like signals (a plucked melody and a bass line with percussion)
  generated with numpy from the fixed seed ``SEED``;
- every track is scaled to a peak of ``PEAK`` of full scale.

Only regeneration needs espeak-ng (``apt-get install espeak-ng``); the WAVs are
committed, so the course runs without it. Run from anywhere::

    python data/ica/make_sources.py
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

RATE = 11025
SECONDS = 5
N_SAMPLES = RATE * SECONDS
SEED = 20240611
PEAK = 0.9
HERE = Path(__file__).resolve().parent

# (file name, espeak-ng voice or None for a generated track, text spoken)
TRACKS: list[tuple[str, str | None, str]] = [
    ("voice_en_us.wav", "en-us",
     "The quick brown fox jumps over the lazy dog, and then it runs back home across the field."),
    ("voice_en_gb_f3.wav", "en-gb+f3",
     "Independent component analysis can separate the voices of people who speak at the same time."),
    ("voice_en_us_m7.wav", "en-us+m7",
     "One, two, three, four, five, six, seven, eight, nine, ten, eleven, twelve, thirteen."),
    ("music_melody.wav", None, "a plucked pentatonic melody"),
    ("music_bass_drums.wav", None, "a bass line with kick drum and hi-hat"),
]


def fit_length(signal: np.ndarray, n: int = N_SAMPLES) -> np.ndarray:
    """Cut ``signal`` to ``n`` samples or pad it with zeros."""
    out = np.zeros(n)
    m = min(n, len(signal))
    out[:m] = signal[:m]
    return out


def speak(text: str, voice: str) -> np.ndarray:
    """``text`` spoken by espeak-ng with ``voice``, float in [-1, 1] at ``RATE`` Hz."""
    from scipy.io import wavfile
    from scipy.signal import resample_poly

    exe = shutil.which("espeak-ng")
    if exe is None:
        sys.exit("make_sources.py: espeak-ng is not installed (Debian: apt-get install espeak-ng)")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "speech.wav"
        subprocess.run([exe, "-v", voice, "-s", "150", "-p", "40", "-w", str(path), text], check=True)
        rate, pcm = wavfile.read(path)
    if rate != 2 * RATE:
        sys.exit(f"make_sources.py: espeak-ng wrote {rate} Hz, expected {2 * RATE}")
    return resample_poly(pcm.astype(np.float64) / 32768.0, 1, 2)


def _note(freq: float, duration: float, decay: float, harmonics: tuple[float, ...]) -> np.ndarray:
    t = np.arange(int(duration * RATE)) / RATE
    tone = sum(a * np.sin(2 * np.pi * freq * (k + 1) * t) for k, a in enumerate(harmonics))
    attack = np.minimum(1.0, t / 0.005)  # 5 ms attack avoids clicks
    return tone * attack * np.exp(-t / decay)


def melody(rng: np.random.Generator) -> np.ndarray:
    """Plucked notes on a pentatonic scale, eighth notes at 120 bpm with some rests."""
    scale = 440.0 * 2.0 ** (np.array([0, 2, 4, 7, 9, 12, 14, 16]) / 12)
    out = np.zeros(N_SAMPLES + RATE)
    step = int(0.25 * RATE)
    for start in range(0, N_SAMPLES, step):
        if rng.random() < 0.2:
            continue  # a rest
        note = _note(rng.choice(scale), 0.6, 0.12, (1.0, 0.5, 0.25, 0.12))
        out[start:start + len(note)] += note
    return out[:N_SAMPLES]


def bass_and_drums(rng: np.random.Generator) -> np.ndarray:
    """A bass line on quarter notes, a kick on beats 1 and 3, hi-hat noise on off-beats."""
    roots = 55.0 * 2.0 ** (np.array([0, 3, 5, 7, 10]) / 12)
    out = np.zeros(N_SAMPLES + RATE)
    beat = int(0.5 * RATE)
    for i, start in enumerate(range(0, N_SAMPLES, beat)):
        bass = _note(rng.choice(roots), 0.45, 0.2, (1.0, 0.6, 0.3))
        out[start:start + len(bass)] += 0.6 * bass
        if i % 2 == 0:  # kick: a falling sine sweep
            t = np.arange(int(0.15 * RATE)) / RATE
            kick = np.sin(2 * np.pi * (120 * t - 250 * t**2)) * np.exp(-t / 0.04)
            out[start:start + len(kick)] += kick
        hat = rng.standard_normal(int(0.05 * RATE)) * np.exp(-np.arange(int(0.05 * RATE)) / (0.01 * RATE))
        off = start + beat // 2
        out[off:off + len(hat)] += 0.3 * hat
    return out[:N_SAMPLES]


def write(path: Path, signal: np.ndarray) -> None:
    """Scale to a peak of ``PEAK`` and write 16-bit PCM at ``RATE`` Hz."""
    from scipy.io import wavfile

    signal = fit_length(signal)
    pcm = np.round(signal / np.abs(signal).max() * PEAK * 32767).astype(np.int16)
    wavfile.write(path, RATE, pcm)


def main() -> None:
    rng = np.random.default_rng(SEED)
    generated = {"music_melody.wav": melody, "music_bass_drums.wav": bass_and_drums}
    for name, voice, text in TRACKS:
        signal = speak(text, voice) if voice else generated[name](rng)
        write(HERE / name, signal)
        print(f"wrote {HERE / name}")


if __name__ == "__main__":
    main()
