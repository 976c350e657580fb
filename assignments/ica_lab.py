"""Unmixing five mixed audio tracks with your infomax ICA: the figures and audio of the ica notebook.

``run(ica)`` takes any module that follows the assignment's API (your ``ica.py``
or the reference). It mixes the five course tracks (three synthetic voices, two
music-like signals; data/ica/) with a fixed random matrix, as if five
microphones each heard all five sources, then separates them with
``ica.unmixer`` / ``ica.unmix``, states which recovered track matches which
source (|correlation|), draws the waveforms and writes the unmixed tracks as WAV.

Two preparations the per-sample algorithm needs, both done here (not by the
graded functions):

- whitening: the mixes are centred and decorrelated to unit variance first
  (``Z = (X - mean) @ V.T``); infomax then only has to find a rotation;
- shuffling: ``unmixer`` sees the samples in a random order (fixed seed). ICA
  ignores time order, and stochastic steps on time-ordered audio follow whoever
  is speaking at that moment, which leaves some tracks mixed.
"""
from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import NamedTuple

import matplotlib.pyplot as plt
import numpy as np
from scipy.io import wavfile
from scipy.optimize import linear_sum_assignment

import labkit

RATE = 11025
TRACKS = [  # file under data/ica/, label
    ("voice_en_us.wav", "voice 1 (espeak en-us)"),
    ("voice_en_gb_f3.wav", "voice 2 (espeak en-gb+f3)"),
    ("voice_en_us_m7.wav", "voice 3 (espeak en-us+m7)"),
    ("music_melody.wav", "music 1 (melody)"),
    ("music_bass_drums.wav", "music 2 (bass and drums)"),
]
MIXING_SEED = 0
SHUFFLE_SEED = 1


def load_sources() -> tuple[np.ndarray, list[str]]:
    """The five source tracks as columns of an (N, 5) float array in [-1, 1], and their labels."""
    columns = []
    for name, _ in TRACKS:
        rate, pcm = wavfile.read(labkit.data_path(f"ica/{name}"))
        if rate != RATE:
            raise ValueError(f"{name}: sample rate {rate}, expected {RATE}")
        columns.append(pcm.astype(np.float64) / 32768.0)
    return np.stack(columns, axis=1), [label for _, label in TRACKS]


def mixing_matrix(d: int = 5, seed: int = MIXING_SEED) -> np.ndarray:
    """The course's fixed mixing matrix: microphone i hears source j with gain A[i, j] in [0.2, 1)."""
    return np.random.default_rng(seed).uniform(0.2, 1.0, (d, d))


def mix(S: np.ndarray, A: np.ndarray) -> np.ndarray:
    """Microphone signals X = S @ A.T, one microphone per column."""
    return S @ A.T


def whiten(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centred, whitened mixes Z = (X - mean) @ V.T (identity covariance) and the whitening matrix V."""
    Xc = X - X.mean(axis=0)
    evals, U = np.linalg.eigh(Xc.T @ Xc / len(Xc))
    V = (U / np.sqrt(evals)) @ U.T
    return Xc @ V.T, V


class Match(NamedTuple):
    track: int  # index of the recovered (unmixed) track
    source: int  # index of the true source it matches
    label: str  # label of that source
    corr: float  # signed correlation between them


class Separation(NamedTuple):
    Y: np.ndarray  # (N, d) unmixed tracks, in the order the unmixer produced them
    W: np.ndarray  # (d, d) unmixing matrix learned on the whitened mixes
    matches: list[Match]  # one per recovered track
    seconds: float  # time spent in unmixer


def separate(ica: ModuleType, X: np.ndarray, S: np.ndarray, labels: list[str], seed: int = SHUFFLE_SEED) -> Separation:
    """Whiten X, learn W with ``ica.unmixer`` on the shuffled samples, unmix with ``ica.unmix``, match to S."""
    import time

    Z, _ = whiten(X)
    order = np.random.default_rng(seed).permutation(len(Z))
    start = time.perf_counter()
    W = np.asarray(ica.unmixer(Z[order]), dtype=float)
    seconds = time.perf_counter() - start
    Y = np.asarray(ica.unmix(Z, W), dtype=float)
    return Separation(Y, W, match_sources(Y, S, labels), seconds)


def match_sources(Y: np.ndarray, S: np.ndarray, labels: list[str]) -> list[Match]:
    """Pair every recovered track with a distinct source, maximising the total |correlation| (Hungarian)."""
    d = S.shape[1]
    C = np.corrcoef(Y.T, S.T)[:d, d:]
    C = np.nan_to_num(C)  # a constant track correlates with nothing
    rows, cols = linear_sum_assignment(-np.abs(C))
    return [Match(int(r), int(c), labels[c], float(C[r, c])) for r, c in zip(rows, cols)]


def matching_statement(matches: list[Match]) -> str:
    """One line per recovered track: which source it is and how well it matches."""
    lines = ["Which unmixed track is which source (|correlation|; 1 = perfect):"]
    for m in matches:
        lines.append(f"  unmixed track {m.track + 1} -> {m.label:<27} |corr| = {abs(m.corr):.3f}"
                     + ("  (sign flipped)" if m.corr < 0 else ""))
    worst = min(abs(m.corr) for m in matches)
    lines.append(f"  weakest match: {worst:.3f}" + ("" if worst > 0.9 else "  -- some tracks are still mixed"))
    return "\n".join(lines)


def aligned(sep: Separation) -> np.ndarray:
    """The unmixed tracks reordered to the sources' order, signs flipped to correlate positively."""
    out = np.zeros_like(sep.Y)
    for m in sep.matches:
        out[:, m.source] = np.sign(m.corr or 1.0) * sep.Y[:, m.track]
    return out


def normalised(signal: np.ndarray) -> np.ndarray:
    """Scale to a peak of 1 (a silent track stays zero)."""
    peak = np.abs(signal).max()
    return signal / peak if peak > 0 else signal


def waveform_figure(S: np.ndarray, X: np.ndarray, sep: Separation, labels: list[str]):
    """Sources, microphone mixes and unmixed tracks side by side (unmixed rows aligned to their source)."""
    d = S.shape[1]
    t = np.arange(len(S)) / RATE
    by_source = {m.source: m for m in sep.matches}
    Ya = aligned(sep)
    fig, axes = plt.subplots(d, 3, figsize=(13, 1.5 * d + 0.6), sharex=True)
    for i in range(d):
        m = by_source[i]
        for ax, signal, title, colour in (
            (axes[i, 0], S[:, i], labels[i], "tab:blue"),
            (axes[i, 1], X[:, i], f"microphone {i + 1} (mix)", "tab:gray"),
            (axes[i, 2], Ya[:, i], f"unmixed track {m.track + 1}: |corr| {abs(m.corr):.3f}", "tab:green"),
        ):
            ax.plot(t, normalised(signal), lw=0.3, color=colour)
            ax.set_title(title, fontsize=9)
            ax.set_ylim(-1.05, 1.05)
            ax.set_yticks([])
    for ax, head in zip(axes[0], ("sources", "mixes", "unmixed (matched to the source in the row)")):
        ax.annotate(head, (0.5, 1.35), xycoords="axes fraction", ha="center", fontsize=11, weight="bold")
    for ax in axes[-1]:
        ax.set_xlabel("time (s)")
    fig.tight_layout()
    return fig


def write_wavs(sep: Separation, out_dir: Path | None) -> list[Path]:
    """The unmixed tracks as 32-bit float WAV files normalised to [-1, 1] (ica_unmixed_<k>.wav)."""
    if out_dir is None:
        return []
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for k in range(sep.Y.shape[1]):
        path = out_dir / f"ica_unmixed_{k + 1}.wav"
        wavfile.write(path, RATE, normalised(sep.Y[:, k]).astype(np.float32))
        paths.append(path)
    return paths


def play(signals: np.ndarray, titles: list[str]) -> None:
    """Inline audio players (in a notebook), one per column of ``signals``."""
    from IPython.display import Audio, Markdown, display

    for k, title in enumerate(titles):
        display(Markdown(f"**{title}**"))
        display(Audio(normalised(signals[:, k]), rate=RATE, normalize=False))


def run(ica: ModuleType, out_dir: Path | None = None) -> list[Path]:
    """Mix, unmix and report; write the waveform PNG and five unmixed WAVs under ``out_dir`` when given."""
    S, labels = load_sources()
    X = mix(S, mixing_matrix(S.shape[1]))
    sep = separate(ica, X, S, labels)
    print(f"unmixer: {len(X)} samples x {S.shape[1]} tracks, {sep.seconds:.1f} s")
    print(matching_statement(sep.matches))
    written = [labkit.save(waveform_figure(S, X, sep, labels), out_dir, "ica_waveforms.png"), *write_wavs(sep, out_dir)]
    plt.close("all")
    return [p for p in written if p is not None]
