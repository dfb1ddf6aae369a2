import pickle
import subprocess
import sys
import urllib.error
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from imbalanced_cls.sources import (
    DataError,
    load_cifar10,
    load_imagefolder,
    read_image,
    scan_imagefolder,
)

ROOT = Path(__file__).resolve().parents[1]


def write_image(path: Path, pixels: np.ndarray) -> Path:
    """Save (H, W) or (H, W, 3) uint8 pixels to ``path`` in the format of its suffix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)
    return path


def pixels(seed: int, size: tuple[int, int] = (4, 5), rgb: bool = False) -> np.ndarray:
    shape = (size[1], size[0], 3) if rgb else (size[1], size[0])
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def make_folder(root: Path, layout: dict[str, dict[str, int]], rgb: bool = False) -> Path:
    """Write ``layout[split][class]`` random PNGs of 4x5 pixels; returns ``root``."""
    for split, classes in layout.items():
        for name, count in classes.items():
            (root / split / name).mkdir(parents=True, exist_ok=True)
            for i in range(count):
                write_image(root / split / name / f"{i:02d}.png", pixels(i, rgb=rgb))
    return root


def problems_of(excinfo: pytest.ExceptionInfo) -> str:
    return str(excinfo.value)


# ---------------------------------------------------------------------------- image folder


def test_grayscale_folder_loads_exactly_in_sorted_order(tmp_path):
    root = make_folder(
        tmp_path, {"train": {"cat": 3, "ant": 2, "bee": 1}, "test": {"ant": 1, "bee": 1, "cat": 2}}
    )
    (root / "train" / "cat" / ".hidden.png").write_bytes(b"junk")
    (root / "train" / "cat" / "notes.txt").write_text("not an image")
    scan = scan_imagefolder(root)
    assert scan.class_names == ["ant", "bee", "cat"]
    assert scan.counts == {"train": [2, 1, 3], "test": [1, 1, 2]}
    assert scan.channels == 1 and scan.image_shape == (1, 5, 4)

    splits = load_imagefolder(root)
    train, test = splits.train, splits.test
    assert train.images.shape == (6, 1, 5, 4) and train.images.dtype == np.uint8
    assert train.targets.dtype == np.int64 and train.targets.tolist() == [0, 0, 1, 2, 2, 2]
    assert test is not None and test.images.shape == (4, 1, 5, 4)
    assert train.class_names == test.class_names == ["ant", "bee", "cat"]
    # files are read in sorted order, so the third "cat" image was written with seed 2
    np.testing.assert_array_equal(train.images[5, 0], pixels(2))


def test_rgb_round_trips_and_mixed_modes_become_rgb(tmp_path):
    root = make_folder(tmp_path, {"train": {"a": 2}}, rgb=True)
    write_image(root / "train" / "b" / "grey.png", pixels(7))
    splits = load_imagefolder(root)
    assert splits.test is None
    assert splits.train.images.shape == (3, 3, 5, 4)
    np.testing.assert_array_equal(splits.train.images[1], pixels(1, rgb=True).transpose(2, 0, 1))
    grey = splits.train.images[2]
    assert all(np.array_equal(grey[c], pixels(7)) for c in range(3))


def test_image_size_resizes_every_image_to_a_square(tmp_path):
    write_image(tmp_path / "train" / "a" / "small.png", pixels(0, (4, 5)))
    write_image(tmp_path / "train" / "b" / "large.jpg", pixels(1, (9, 6), rgb=True))
    splits = load_imagefolder(tmp_path, image_size=8)
    assert splits.train.images.shape == (2, 3, 8, 8)
    assert read_image(tmp_path / "train" / "a" / "small.png", 1, 3).shape == (1, 3, 3)


def test_missing_root_and_missing_train_name_the_path_and_layout(tmp_path):
    with pytest.raises(DataError) as excinfo:
        scan_imagefolder(tmp_path / "nowhere")
    assert str(tmp_path / "nowhere") in problems_of(excinfo)
    assert "<root>/train/<class>/*.png" in problems_of(excinfo)

    (tmp_path / "training").mkdir()
    with pytest.raises(DataError) as excinfo:
        scan_imagefolder(tmp_path)
    assert str(tmp_path / "train") in problems_of(excinfo) and "training" in problems_of(excinfo)


def test_train_without_class_folders_and_empty_class_folder(tmp_path):
    write_image(tmp_path / "train" / "loose.png", pixels(0))
    with pytest.raises(DataError, match="no class folders"):
        scan_imagefolder(tmp_path)

    make_folder(tmp_path, {"train": {"a": 1}})
    (tmp_path / "train" / "empty").mkdir()
    (tmp_path / "train" / "empty" / "readme.txt").write_text("")
    with pytest.raises(DataError) as excinfo:
        scan_imagefolder(tmp_path)
    assert f"{tmp_path / 'train' / 'empty'} holds no image files" in problems_of(excinfo)


def test_test_classes_must_match_train_classes(tmp_path):
    make_folder(tmp_path, {"train": {"a": 1, "b": 1}, "test": {"a": 1, "z": 1}})
    with pytest.raises(DataError) as excinfo:
        scan_imagefolder(tmp_path)
    assert excinfo.value.problems[0] == (
        f"test class folder {tmp_path / 'test' / 'z'} has no counterpart in train/; "
        "train classes: a, b"
    )
    assert "class 'b' has no test folder" in excinfo.value.problems[1]
    assert len(excinfo.value.problems) == 2


def test_corrupt_file_is_named_with_the_reason(tmp_path):
    make_folder(tmp_path, {"train": {"a": 2}})
    bad = tmp_path / "train" / "a" / "x.png"
    bad.write_bytes(b"this is not an image at all")
    with pytest.raises(DataError) as excinfo:
        scan_imagefolder(tmp_path)
    assert f"cannot read image {bad}: UnidentifiedImageError" in problems_of(excinfo)


def test_many_corrupt_files_are_listed_up_to_twenty(tmp_path):
    (tmp_path / "train" / "a").mkdir(parents=True)
    for i in range(23):
        (tmp_path / "train" / "a" / f"{i:02d}.png").write_bytes(b"junk")
    with pytest.raises(DataError) as excinfo:
        scan_imagefolder(tmp_path)
    assert len(excinfo.value.problems) == 21
    assert excinfo.value.problems[-1] == "... and 3 more unreadable files"


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_truncated_file_fails_at_decode_and_is_named(tmp_path, suffix):
    make_folder(tmp_path, {"train": {"a": 1}})
    full = write_image(tmp_path / f"full{suffix}", pixels(3, (64, 64), rgb=True)).read_bytes()
    bad = tmp_path / "train" / "a" / f"cut{suffix}"
    bad.write_bytes(full[: len(full) // 2])
    scan_imagefolder(tmp_path, image_size=64)  # the header alone is fine
    with pytest.raises(DataError) as excinfo:
        load_imagefolder(tmp_path, image_size=64)
    assert excinfo.value.problems[0].startswith(f"cannot decode image {bad}: ")
    with pytest.raises(DataError, match="cannot decode image"):
        read_image(bad, channels=3)


def test_mixed_sizes_need_image_size(tmp_path):
    for i in range(3):
        write_image(tmp_path / "train" / "a" / f"{i}.png", pixels(i, (4, 5)))
    write_image(tmp_path / "train" / "b" / "big.png", pixels(0, (8, 8)))
    with pytest.raises(DataError) as excinfo:
        scan_imagefolder(tmp_path)
    message = problems_of(excinfo)
    assert "4x5: 3 files, e.g." in message and f"8x8: 1 files, e.g. {tmp_path}" in message
    assert "data.image_size" in message
    assert scan_imagefolder(tmp_path, image_size=6).image_shape == (1, 6, 6)


def test_all_problems_are_reported_at_once(tmp_path):
    make_folder(tmp_path, {"train": {"a": 1}, "test": {"a": 1}})
    (tmp_path / "train" / "empty").mkdir()
    (tmp_path / "test" / "a" / "x.png").write_bytes(b"junk")
    with pytest.raises(DataError) as excinfo:
        scan_imagefolder(tmp_path, image_size=-1)
    message = problems_of(excinfo)
    assert message.startswith("invalid dataset:\n  - data.image_size is -1")
    for part in ("holds no image files", "class 'empty' has no test folder", "x.png"):
        assert part in message


# ---------------------------------------------------------------------------- CIFAR-10


def make_cifar(root: Path) -> tuple[np.ndarray, np.ndarray]:
    """Five data batches of 4 images and a test batch of 10 in CIFAR-10's pickle layout.

    Returns the expected train images (20, 3, 32, 32) and labels (20,).
    """
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    data = rng.integers(0, 256, (30, 3072), dtype=np.uint8)
    labels = [*range(10), *range(10), *range(10)]
    for i in range(5):
        batch = {"batch_label": f"batch {i + 1}", "data": data[4 * i : 4 * i + 4]}
        batch["labels"] = labels[4 * i : 4 * i + 4]
        (folder / f"data_batch_{i + 1}").write_bytes(pickle.dumps(batch))
    test = {"data": data[20:], "labels": labels[20:]}
    (folder / "test_batch").write_bytes(pickle.dumps(test))
    meta = {"label_names": [f"class{i}" for i in range(10)], "num_vis": 3072}
    (folder / "batches.meta").write_bytes(pickle.dumps(meta))
    return data[:20].reshape(20, 3, 32, 32), np.array(labels[:20])


def test_cifar10_loads_batches_in_order(tmp_path):
    images, labels = make_cifar(tmp_path)
    splits = load_cifar10(tmp_path, verify=False)
    np.testing.assert_array_equal(splits.train.images, images)
    assert splits.train.targets.dtype == np.int64
    assert splits.train.targets.tolist() == labels.tolist()
    assert splits.test is not None and splits.test.images.shape == (10, 3, 32, 32)
    assert splits.test.targets.tolist() == list(range(10))
    assert splits.train.class_names == [f"class{i}" for i in range(10)]


def test_cifar10_without_verify_does_not_import_torchvision(tmp_path):
    make_cifar(tmp_path)
    code = (
        "import sys; from imbalanced_cls.sources import load_cifar10; "
        f"load_cifar10({str(tmp_path)!r}, verify=False); "
        "assert 'torchvision' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


def test_cifar10_md5_mismatch_names_file_and_data_verify(tmp_path):
    from torchvision.datasets import CIFAR10

    make_cifar(tmp_path)
    with pytest.raises(DataError) as excinfo:
        load_cifar10(tmp_path, verify=True)
    assert len(excinfo.value.problems) == 7
    first = excinfo.value.problems[0]
    assert str(tmp_path / "cifar-10-batches-py" / "data_batch_1") in first
    assert CIFAR10.train_list[0] == ["data_batch_1", CIFAR10.train_list[0][1]]
    assert f"expected {CIFAR10.train_list[0][1]}" in first
    assert "data.verify: false" in first


def test_cifar10_malformed_batch_is_named(tmp_path):
    make_cifar(tmp_path)
    bad = tmp_path / "cifar-10-batches-py" / "data_batch_3"
    bad.write_bytes(pickle.dumps({"data": np.zeros((4, 100), np.uint8), "labels": [0, 1, 2, 10]}))
    (tmp_path / "cifar-10-batches-py" / "test_batch").write_bytes(b"truncated")
    with pytest.raises(DataError) as excinfo:
        load_cifar10(tmp_path, verify=False)
    assert excinfo.value.problems[0].startswith(f"{bad} is not a valid CIFAR-10 batch")
    assert "cannot be unpickled" in excinfo.value.problems[1]


def test_cifar10_missing_directory_says_where_and_how(tmp_path):
    with pytest.raises(DataError) as excinfo:
        load_cifar10(tmp_path, verify=False)
    message = problems_of(excinfo)
    assert f"looked for the directory {tmp_path / 'cifar-10-batches-py'}" in message
    assert "data.download: true" in message and "cifar-10-python.tar.gz" in message

    make_cifar(tmp_path)
    (tmp_path / "cifar-10-batches-py" / "test_batch").unlink()
    with pytest.raises(DataError, match="lacks test_batch"):
        load_cifar10(tmp_path, verify=False)


def test_cifar10_archive_not_extracted(tmp_path):
    (tmp_path / "cifar-10-python.tar.gz").write_bytes(b"")
    with pytest.raises(DataError) as excinfo:
        load_cifar10(tmp_path, verify=False)
    assert "is there but not extracted" in problems_of(excinfo)
    assert f"tar xzf {tmp_path / 'cifar-10-python.tar.gz'}" in problems_of(excinfo)


def test_cifar10_failed_download_is_explained(tmp_path, monkeypatch):
    import torchvision.datasets

    def offline(**kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(torchvision.datasets, "CIFAR10", offline)
    with pytest.raises(DataError) as excinfo:
        load_cifar10(tmp_path, download=True)
    message = problems_of(excinfo)
    assert "with torchvision failed (URLError" in message
    assert "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz" in message
