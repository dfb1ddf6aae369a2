import dataclasses

import numpy as np
import pytest
import torch

from imbalanced_cls.augment import BaseAugment, TargetedAugment, class_strengths
from imbalanced_cls.config import parse_params


def test_strength_grows_with_rarity():
    s = class_strengths([100, 50, 10], min_strength=0.2)
    assert s[0] == pytest.approx(0.2) and s[-1] == pytest.approx(1.0)
    assert s[0] < s[1] < s[2]
    assert class_strengths([5, 5]) == pytest.approx([1, 1])


@pytest.mark.parametrize("channels", [1, 3])
def test_minority_classes_are_augmented_more(raw_params, channels):
    raw_params["augmentation"].update(rotation=20, translate=0.1, erasing=0.5, jitter=0.4)
    params = parse_params(raw_params).augmentation
    counts = [400, 40, 4]
    augment = TargetedAugment(class_strengths(counts, min_strength=0.0), params)
    images = torch.rand(300, channels, 12, 12)
    targets = torch.arange(3).repeat_interleave(100)
    out = augment(images, targets, torch.Generator().manual_seed(0))
    change = [(out[targets == c] - images[targets == c]).abs().mean().item() for c in range(3)]
    assert change[0] == pytest.approx(0.0, abs=1e-6)  # strength 0: untouched
    assert change[0] < change[1] < change[2]
    assert out.shape == images.shape and out.min() >= 0 and out.max() <= 1


def test_augmentation_is_reproducible_with_a_seeded_generator(raw_params):
    params = parse_params(raw_params).augmentation
    augment = TargetedAugment(np.array([0.5, 1.0]), dataclasses.replace(params, erasing=0.5))
    images, targets = torch.rand(20, 1, 8, 8), torch.randint(0, 2, (20,))
    a = augment(images, targets, torch.Generator().manual_seed(3))
    b = augment(images, targets, torch.Generator().manual_seed(3))
    assert torch.equal(a, b)


def test_base_augmentation_crops_from_the_padded_image_and_flips():
    images = torch.arange(2 * 4 * 4, dtype=torch.float32).view(2, 1, 4, 4) + 1
    out = BaseAugment(crop_padding=1, hflip=True)(images, torch.Generator().manual_seed(0))
    assert out.shape == images.shape
    for original, crop in zip(images, out, strict=True):
        # Every crop is a 4x4 window of the zero-padded image, flipped or not.
        padded = torch.nn.functional.pad(original, (1, 1, 1, 1))
        windows = [padded[:, r : r + 4, c : c + 4] for r in range(3) for c in range(3)]
        assert any(torch.equal(crop, w) or torch.equal(crop, w.flip(2)) for w in windows)
    again = BaseAugment(1, True)(images, torch.Generator().manual_seed(0))
    assert torch.equal(out, again)


def test_base_augmentation_follows_the_channel_rule(raw_params):
    params = parse_params(raw_params).base_augmentation
    assert BaseAugment.for_images(params, channels=1) is None  # digits: no crop, no flip
    assert BaseAugment.for_images(params, channels=3) is not None
    everything = dataclasses.replace(params, images="all")
    assert BaseAugment.for_images(everything, channels=1) is not None
    off = dataclasses.replace(params, crop_padding=0, hflip=False)
    assert BaseAugment.for_images(off, channels=3) is None
