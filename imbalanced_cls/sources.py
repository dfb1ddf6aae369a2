"""Readers for datasets on disk: a folder of images per class, and CIFAR-10's python batches.

Each reader returns the source's own train pool and, where the source has one, its test pool,
as ``Dataset`` objects with images (N, C, H, W) uint8 and targets (N,) int64.
"""

from __future__ import annotations

import hashlib
import logging
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from imbalanced_cls.data import Dataset

log = logging.getLogger(__name__)

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
# PIL modes that hold one grey band (plus alpha for "LA"); every other mode is read as RGB.
GRAYSCALE_MODES = frozenset({"1", "L", "LA", "I", "I;16", "I;16L", "I;16B", "I;16N", "F"})
FOLDER_LAYOUT = "<root>/train/<class>/*.png, optionally with <root>/test/<class>/*.png"
MAX_LISTED = 20
MAX_LISTED_SIZES = 5
PROGRESS_EVERY = 10_000
# What PIL raises for a bad file: unknown or truncated data (OSError, incl.
# UnidentifiedImageError), broken chunks (SyntaxError), bad headers (ValueError, EOFError).
_PIL_ERRORS = (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError)

CIFAR10_FOLDER = "cifar-10-batches-py"
CIFAR10_ARCHIVE = "cifar-10-python.tar.gz"
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_TRAIN_FILES = tuple(f"data_batch_{i}" for i in range(1, 6))
CIFAR10_TEST_FILE = "test_batch"
CIFAR10_META_FILE = "batches.meta"
CIFAR10_FILES = (*CIFAR10_TRAIN_FILES, CIFAR10_TEST_FILE, CIFAR10_META_FILE)
CIFAR10_SHAPE = (3, 32, 32)
CIFAR10_CLASSES = 10


class DataError(ValueError):
    """A dataset on disk is missing, malformed or inconsistent; lists every problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("invalid dataset:\n" + "\n".join(f"  - {p}" for p in self.problems))


@dataclass(frozen=True)
class SourceSplits:
    """A source's train pool, and its test pool (None when the source has no test split)."""

    train: Dataset
    test: Dataset | None


@dataclass(frozen=True)
class FolderScan:
    """An image folder as read from file headers only.

    ``files`` maps a split ("train", and "test" when present) to (path, class index) pairs;
    ``image_shape`` is (C, H, W) after resizing; ``counts`` maps a split to images per class.
    """

    class_names: list[str]
    files: dict[str, list[tuple[Path, int]]]
    channels: int
    image_shape: tuple[int, int, int]
    counts: dict[str, list[int]]


def _capped(problems: list[str], what: str) -> list[str]:
    """At most MAX_LISTED problems, plus a line saying how many more were left out."""
    if len(problems) <= MAX_LISTED:
        return problems
    return [*problems[:MAX_LISTED], f"... and {len(problems) - MAX_LISTED} more {what}"]


# ---------------------------------------------------------------------------- image folder


def scan_imagefolder(root: Path, image_size: int = 0) -> FolderScan:
    """Class names, files, channels and image shape of ``<root>/train`` and ``<root>/test``.

    Reads only file headers. Raises DataError listing every problem found.
    """
    root = Path(root)
    problems = []
    if image_size < 0:
        problems.append(
            f"data.image_size is {image_size}; use 0 to keep the images' own size "
            f"or a positive side length in pixels"
        )
    layout = _layout_problem(root)
    if layout:
        raise DataError([*problems, layout])

    class_names = sorted(p.name for p in _visible(root / "train") if p.is_dir())
    if not class_names:
        raise DataError([*problems, _no_classes_problem(root / "train")])
    splits = ["train"]
    if (root / "test").is_dir():
        splits.append("test")
        problems += _test_class_problems(root / "test", class_names)
    files, skipped = {}, 0
    for split in splits:
        files[split], split_skipped = _list_split(root / split, class_names, problems)
        skipped += split_skipped
    if skipped:
        log.info("skipped %d hidden or non-image entries under %s", skipped, root)

    modes, sizes = _read_headers(files, problems)
    if image_size == 0 and len(sizes) > 1:
        problems.append(_size_problem(sizes))
    if problems:
        raise DataError(problems)

    channels = 1 if modes <= GRAYSCALE_MODES else 3
    width, height = (image_size, image_size) if image_size else next(iter(sizes))
    counts = {
        split: np.bincount([c for _, c in pairs], minlength=len(class_names)).tolist()
        for split, pairs in files.items()
    }
    return FolderScan(class_names, files, channels, (channels, height, width), counts)


def _layout_problem(root: Path) -> str | None:
    """Why ``root`` is not an image folder with a ``train/`` sub-folder, or None."""
    if not root.is_dir():
        return f"image folder {root} does not exist; expected layout {FOLDER_LAYOUT}"
    if not (root / "train").is_dir():
        found = ", ".join(sorted(p.name for p in _visible(root))) or "nothing"
        return (
            f"no train folder: looked for {root / 'train'} (found in {root}: {found}); "
            f"expected layout {FOLDER_LAYOUT}"
        )
    return None


def _no_classes_problem(train_dir: Path) -> str:
    """The problem of a ``train/`` folder without class sub-folders."""
    loose = sum(1 for p in _visible(train_dir) if p.is_file())
    found = f" (it holds {loose} loose files)" if loose else ""
    return (
        f"{train_dir} has no class folders{found}; put each class's images in its own "
        f"sub-folder: {FOLDER_LAYOUT}"
    )


def _test_class_problems(test_dir: Path, class_names: list[str]) -> list[str]:
    """Class folders in ``test/`` that ``train/`` lacks, and train classes ``test/`` lacks."""
    test_names = {p.name for p in _visible(test_dir) if p.is_dir()}
    problems = [
        f"test class folder {test_dir / name} has no counterpart in train/; "
        f"train classes: {', '.join(class_names)}"
        for name in sorted(test_names - set(class_names))
    ]
    problems += [
        f"class {name!r} has no test folder (looked for {test_dir / name}); the test set "
        f"must cover every class, otherwise its per-class test metrics are undefined"
        for name in class_names
        if name not in test_names
    ]
    return problems


def _list_split(
    split_dir: Path, class_names: list[str], problems: list[str]
) -> tuple[list[tuple[Path, int]], int]:
    """(path, class index) pairs of one split in sorted order, and how many entries it skipped.

    Appends a problem for each existing class folder without image files.
    """
    pairs, skipped = [], 0
    for index, name in enumerate(class_names):
        folder = split_dir / name
        if not folder.is_dir():
            continue  # a missing test class is reported by _test_class_problems
        entries = sorted(folder.iterdir())
        images = [p for p in entries if _is_image_file(p)]
        skipped += len(entries) - len(images)
        if not images:
            problems.append(
                f"class folder {folder} holds no image files "
                f"(allowed extensions: {' '.join(IMAGE_EXTENSIONS)})"
            )
        pairs += [(path, index) for path in images]
    return pairs, skipped


def _visible(folder: Path) -> list[Path]:
    """Entries of ``folder`` whose names do not start with '.'."""
    return [p for p in folder.iterdir() if not p.name.startswith(".")]


def _is_image_file(path: Path) -> bool:
    """Whether ``path`` is a visible file with an image extension."""
    return (
        not path.name.startswith(".")
        and path.suffix.lower() in IMAGE_EXTENSIONS
        and path.is_file()
    )


def _read_headers(
    files: dict[str, list[tuple[Path, int]]], problems: list[str]
) -> tuple[set[str], dict[tuple[int, int], tuple[int, Path]]]:
    """PIL modes seen, and (width, height) -> (file count, example file); headers only.

    Appends a problem for each file PIL cannot open.
    """
    modes, sizes, unreadable = set(), {}, []
    for pairs in files.values():
        for path, _ in pairs:
            try:
                with Image.open(path) as img:
                    modes.add(img.mode)
                    count, example = sizes.get(img.size, (0, path))
                    sizes[img.size] = (count + 1, example)
            except _PIL_ERRORS as err:
                unreadable.append(f"cannot read image {path}: {type(err).__name__}: {err}")
    problems += _capped(unreadable, "unreadable files")
    return modes, sizes


def _size_problem(sizes: dict[tuple[int, int], tuple[int, Path]]) -> str:
    """The problem of images of several sizes, most common sizes first."""
    ranked = sorted(sizes.items(), key=lambda item: -item[1][0])
    listed = "; ".join(
        f"{w}x{h}: {count} files, e.g. {example}"
        for (w, h), (count, example) in ranked[:MAX_LISTED_SIZES]
    )
    if len(ranked) > MAX_LISTED_SIZES:
        listed += f"; and {len(ranked) - MAX_LISTED_SIZES} more sizes"
    return (
        f"images have {len(ranked)} different sizes (width x height) - {listed}; "
        f"set data.image_size to resize every image to a square of that size"
    )


def read_image(path: Path, channels: int, image_size: int = 0) -> np.ndarray:
    """One image file as (C, H, W) uint8: grey for channels 1, RGB for channels 3.

    Resized bilinearly to (image_size, image_size) when image_size > 0. Raises DataError
    naming the file when it cannot be decoded.
    """
    if channels not in (1, 3) or image_size < 0:
        raise ValueError(
            f"read_image needs channels 1 or 3 and image_size >= 0; "
            f"got channels={channels}, image_size={image_size}"
        )
    try:
        with Image.open(path) as img:
            converted = img.convert("L" if channels == 1 else "RGB")
        if image_size:
            converted = converted.resize((image_size, image_size), Image.Resampling.BILINEAR)
        pixels = np.asarray(converted)
    except _PIL_ERRORS as err:
        raise DataError([f"cannot decode image {path}: {type(err).__name__}: {err}"]) from err
    return pixels[None] if channels == 1 else pixels.transpose(2, 0, 1)


def load_imagefolder(root: Path, image_size: int = 0) -> SourceSplits:
    """The train pool, and the test pool when ``<root>/test`` exists, of an image folder.

    Images are (N, C, H, W) uint8 with C from scan_imagefolder. Raises DataError listing
    every problem of the folder, or every file that fails to decode.
    """
    scan = scan_imagefolder(root, image_size)
    total = sum(len(pairs) for pairs in scan.files.values())
    log.info("decoding %d images of shape %s from %s", total, scan.image_shape, root)

    arrays = {
        split: np.empty((len(pairs), *scan.image_shape), dtype=np.uint8)
        for split, pairs in scan.files.items()
    }
    jobs = [
        (split, i, path)
        for split, pairs in scan.files.items()
        for i, (path, _) in enumerate(pairs)
    ]
    problems = []
    for done, (split, i, path) in enumerate(jobs, start=1):
        try:
            pixels = read_image(path, scan.channels, image_size)
        except DataError as err:
            problems += err.problems
        else:
            if pixels.shape == scan.image_shape:
                arrays[split][i] = pixels
            else:
                problems.append(f"{path} decodes to {pixels.shape}, expected {scan.image_shape}")
        if done % PROGRESS_EVERY == 0:
            log.info("decoded %d / %d images", done, total)
    if problems:
        raise DataError(_capped(problems, "undecodable files"))

    datasets = {
        split: Dataset(
            arrays[split],
            np.array([c for _, c in pairs], dtype=np.int64),
            list(scan.class_names),
        )
        for split, pairs in scan.files.items()
    }
    return SourceSplits(train=datasets["train"], test=datasets.get("test"))


# ---------------------------------------------------------------------------- CIFAR-10


def load_cifar10(root: Path, download: bool = False, verify: bool = True) -> SourceSplits:
    """CIFAR-10 from ``<root>/cifar-10-batches-py``: 50,000 train and 10,000 test images.

    Images are (N, 3, 32, 32) uint8, the five data batches in order. ``download`` fetches the
    archive through torchvision first; ``verify`` checks every file against torchvision's md5
    sums. Raises DataError when files are missing, fail the check or are malformed.
    """
    root = Path(root)
    folder = root / CIFAR10_FOLDER
    if download:
        _download_cifar10(root)
    missing = _cifar10_missing_problem(root)
    if missing:
        raise DataError([missing])
    if verify:
        mismatches = _cifar10_md5_problems(folder)
        if mismatches:
            raise DataError(mismatches)

    # Unpickle only files that passed the check (or that the user chose not to check).
    problems = []
    class_names = _cifar10_label_names(folder / CIFAR10_META_FILE, problems)
    train = [_cifar10_batch(folder / name, problems) for name in CIFAR10_TRAIN_FILES]
    test = _cifar10_batch(folder / CIFAR10_TEST_FILE, problems)
    if problems:
        raise DataError(problems)
    images, targets = (np.concatenate(parts) for parts in zip(*train, strict=True))
    return SourceSplits(
        train=Dataset(images, targets, class_names),
        test=Dataset(test[0], test[1], list(class_names)),
    )


def _download_cifar10(root: Path) -> None:
    """Download, md5-check and extract CIFAR-10 into ``root`` with torchvision."""
    from torchvision.datasets import CIFAR10

    try:
        for train in (True, False):
            CIFAR10(root=str(root), train=train, download=True)
    except (OSError, RuntimeError) as err:
        raise DataError(
            [
                f"downloading CIFAR-10 into {root} with torchvision failed "
                f"({type(err).__name__}: {err}); to get it by hand, download {CIFAR10_URL} "
                f"on a machine with internet, extract it so that {root / CIFAR10_FOLDER}/ "
                f"exists, and set data.download: false"
            ]
        ) from err


def _cifar10_missing_problem(root: Path) -> str | None:
    """Which CIFAR-10 files are missing under ``root`` and how to get them, or None."""
    folder = root / CIFAR10_FOLDER
    missing = [name for name in CIFAR10_FILES if not (folder / name).is_file()]
    if not missing:
        return None
    if folder.is_dir():
        found = f"the CIFAR-10 directory {folder} lacks {', '.join(missing)}"
    else:
        found = (
            f"CIFAR-10 not found: looked for the directory {folder} "
            f"(holding {', '.join(CIFAR10_FILES)}), which does not exist"
        )
    archive = root / CIFAR10_ARCHIVE
    if archive.is_file():
        fix = (
            f"the archive {archive} is there but not extracted: run `tar xzf {archive} -C {root}`"
        )
    else:
        fix = (
            f"set data.download: true (needs internet), or download {CIFAR10_URL} and "
            f"extract it so that {folder}/ exists"
        )
    return f"{found}; {fix}"


def _cifar10_md5_problems(folder: Path) -> list[str]:
    """Files in ``folder`` whose md5 differs from torchvision's list of the official ones."""
    from torchvision.datasets import CIFAR10

    expected = dict(CIFAR10.train_list + CIFAR10.test_list)
    expected[CIFAR10.meta["filename"]] = CIFAR10.meta["md5"]
    problems = []
    for name in CIFAR10_FILES:
        with open(folder / name, "rb") as f:
            found = hashlib.file_digest(f, lambda: hashlib.md5(usedforsecurity=False)).hexdigest()
        if found != expected[name]:
            problems.append(
                f"{folder / name} has md5 {found}, expected {expected[name]} (the official "
                f"file); re-download it, or set data.verify: false to skip the check "
                f"(meant for test fixtures and re-encoded copies)"
            )
    return problems


def _unpickle(path: Path, problems: list[str]) -> dict | None:
    """The dict pickled in ``path``, or None after appending a problem."""
    try:
        with open(path, "rb") as f:
            entry = pickle.load(f, encoding="latin1")
    except Exception as err:  # unpickling a damaged file can raise almost anything
        problems.append(f"{path} cannot be unpickled: {type(err).__name__}: {err}")
        return None
    if not isinstance(entry, dict):
        problems.append(f"{path} holds a {type(entry).__name__}, expected a dict")
        return None
    # The original files were pickled by Python 2 (str keys); copies re-pickled by
    # Python 3 may have bytes keys.
    return {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in entry.items()}


def _cifar10_label_names(path: Path, problems: list[str]) -> list[str]:
    """The 10 class names in ``batches.meta``; appends a problem when malformed."""
    entry = _unpickle(path, problems)
    if entry is None:
        return []
    names = entry.get("label_names")
    if not isinstance(names, list | tuple) or len(names) != CIFAR10_CLASSES:
        problems.append(
            f"{path}: 'label_names' should be a list of {CIFAR10_CLASSES} names, "
            f"found {names!r:.200}"
        )
        return []
    return [n.decode() if isinstance(n, bytes) else str(n) for n in names]


def _cifar10_batch(path: Path, problems: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, 3, 32, 32) uint8 and labels (N,) int64 of one batch file.

    Appends a problem and returns empty arrays when the batch is malformed.
    """
    empty = (np.empty((0, *CIFAR10_SHAPE), np.uint8), np.empty(0, np.int64))
    entry = _unpickle(path, problems)
    if entry is None:
        return empty
    if "data" not in entry or "labels" not in entry:
        problems.append(f"{path} lacks 'data' or 'labels'; found keys {sorted(entry)}")
        return empty
    data, labels = np.asarray(entry["data"]), np.asarray(entry["labels"])
    row = int(np.prod(CIFAR10_SHAPE))
    found = []
    if data.ndim != 2 or data.shape[1] != row or data.dtype != np.uint8:
        found.append(f"'data' is {data.dtype} of shape {data.shape}, expected uint8 (N, {row})")
    if labels.shape != (len(data),) or not np.issubdtype(labels.dtype, np.integer):
        found.append(
            f"'labels' is {labels.dtype} of shape {labels.shape}, expected {len(data)} integers"
        )
    elif len(labels) and (labels.min() < 0 or labels.max() >= CIFAR10_CLASSES):
        found.append(
            f"'labels' range over {labels.min()}..{labels.max()}, "
            f"expected 0..{CIFAR10_CLASSES - 1}"
        )
    if found:
        problems.append(f"{path} is not a valid CIFAR-10 batch: {'; '.join(found)}")
        return empty
    return data.reshape(-1, *CIFAR10_SHAPE), labels.astype(np.int64)
