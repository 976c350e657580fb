"""Hypothesis strategies for small data sets, shared by public and hidden tests."""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp


@st.composite
def point_sets(draw, n=(2, 40), d=(1, 3), k=(1, 5), scale=1e3, integer=False):
    """(data, centroids): N×d data and K×d centroids, floats in ±scale (small integers if asked)."""
    n_ = draw(st.integers(*n))
    d_ = draw(st.integers(*d))
    k_ = draw(st.integers(*k))
    if integer:
        elems = st.integers(-10, 10).map(float)
    else:
        elems = st.floats(-scale, scale, allow_nan=False, allow_infinity=False, allow_subnormal=False)
    data = draw(hnp.arrays(np.float64, (n_, d_), elements=elems))
    cents = draw(hnp.arrays(np.float64, (k_, d_), elements=elems))
    return data, cents


@st.composite
def blobs(draw, k=(2, 5), per=(2, 12), d=(1, 3), gap=100.0, offset=0.0):
    """Well separated clusters: (data, one initial centroid per blob drawn from the data)."""
    k_ = draw(st.integers(*k))
    d_ = draw(st.integers(*d))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    centres = np.arange(k_)[:, None] * gap * np.ones(d_) + rng.uniform(-5, 5, (k_, d_)) + offset
    sizes = [draw(st.integers(*per)) for _ in range(k_)]
    data = np.concatenate([c + rng.normal(0, 1, (m, d_)) for c, m in zip(centres, sizes)])
    starts = np.cumsum([0, *sizes[:-1]])
    init = data[[s + draw(st.integers(0, m - 1)) for s, m in zip(starts, sizes)]]
    order = rng.permutation(len(data))
    return data[order], init.copy()
