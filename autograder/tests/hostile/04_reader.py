# base: stub
"""Case 4: hunts for the test and solution files (beside the grader's interpreter, above its
working directory, in the paths other processes' command lines name, in Gradescope's
/autograder, in the course zips) and hands their text back as answers: raised, returned
and printed."""
import json
import sys
import zipfile
from pathlib import Path

WANTED = ("solutions/kmeans.py", "autograder/kmeans/hidden/test_hidden_kmeans.py", "tests/kmeans/test_kmeans.py",
          "source/files/course/autograder/kmeans/hidden/test_hidden_kmeans.py",
          "files/course/autograder/kmeans/hidden/test_hidden_kmeans.py", "autograder/otter_plugin.py")


def _places() -> set[Path]:
    starts = [Path(sys.prefix), Path(__file__).resolve(), Path.cwd(), *map(Path, sys.path), Path("/autograder")]
    for cmdline in Path("/proc").glob("*/cmdline"):  # paths the grader's processes were started with
        try:
            starts += [Path(a) for a in cmdline.read_bytes().decode(errors="ignore").split("\0") if a.startswith("/")]
        except OSError:
            pass
    places = set()
    for start in starts:
        places.update([start, *start.parents])
    return places


def _loot() -> tuple[list[str], str]:
    found, texts = [], []
    for place in sorted(_places()):
        candidates = [place / w for w in WANTED] + [place / "dist" / "kmeans" / "kmeans-autograder.zip"]
        candidates += list((place / "autograder" / "kmeans" / "hidden").glob("*.py"))
        for path in candidates:
            try:
                if path.suffix == ".zip":
                    with zipfile.ZipFile(path) as zf:
                        text = "".join(zf.read(n).decode() for n in zf.namelist() if "hidden" in n)
                else:
                    text = path.read_text()
            except (OSError, ValueError, zipfile.BadZipFile):
                continue
            found.append(str(path))
            texts.append(text)
    return found, "\n".join(texts)


FOUND, TEXT = _loot()


def kmeans_loss(data, centroids):
    raise ValueError("REPORT " + json.dumps({"read": FOUND}) + "\n" + TEXT)


def assign_clusters(data, centroids):
    return TEXT


def update_centroids(data, labels, centroids):
    raise AssertionError(TEXT)


def train_kmeans(train_data, initial_centroids, num_iterations=50):
    print(TEXT)
    return TEXT


def quantize_image(image, centroids):
    return {"text": TEXT}
