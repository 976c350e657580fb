# base: stub
"""Case 13: imports the reference solution by any name it can think of (solutions.kmeans,
the module of that name found above the interpreter, the working directory or any path
in other processes' command lines, Gradescope's /autograder) and hands in its functions."""
import importlib
import importlib.util
import sys
from pathlib import Path


def _places() -> list[Path]:
    starts = [Path(sys.prefix), Path(__file__).resolve(), Path.cwd(), Path("/autograder"), *map(Path, sys.path)]
    for cmdline in Path("/proc").glob("*/cmdline"):
        try:
            starts += [Path(a) for a in cmdline.read_bytes().decode(errors="ignore").split("\0") if a.startswith("/")]
        except OSError:
            pass
    return sorted({p for s in starts for p in (s, *s.parents)})


def _find_solution():
    for name in ("solutions.kmeans", "solution.kmeans", "kmeans_solution", "solutions"):
        try:
            module = importlib.import_module(name)
            if hasattr(module, "train_kmeans") or hasattr(module, "kmeans"):
                return getattr(module, "kmeans", module)
        except Exception:
            pass
    for place in _places():
        for rel in ("solutions/kmeans.py", "source/solutions/kmeans.py", "kmeans_solution.py"):
            path = place / rel
            try:
                if path.is_file():
                    spec = importlib.util.spec_from_file_location("stolen_kmeans", path)
                    module = importlib.util.module_from_spec(spec)
                    spec.loader.exec_module(module)
                    return module
            except Exception:
                pass
        if (place / "solutions").is_dir() and str(place) not in sys.path:
            sys.path.append(str(place))
            try:
                return importlib.import_module("solutions.kmeans")
            except Exception:
                pass
    return None


_stolen = _find_solution()
if _stolen is not None:
    assign_clusters = _stolen.assign_clusters
    update_centroids = _stolen.update_centroids
    kmeans_loss = _stolen.kmeans_loss
    train_kmeans = _stolen.train_kmeans
    quantize_image = _stolen.quantize_image
