"""Image-patch tokens: they round-trip to the image pixels scikit-learn ships."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import datasets

from normviz.io import patches


def test_photo_patches_round_trip_to_the_photo_pixels():
    pool = patches.image_pool("photos")
    assert pool.n_sequences == 520 and pool.dim == 192 and set(pool.lengths.tolist()) == {16}
    photo = datasets.load_sample_images().images[0]  # (427, 640, 3) uint8
    tokens = pool.x.numpy().reshape(520, 16, 192)
    crops = patches.unpatchify(tokens, 8, 32, 32)  # (520, 32, 32, 3)
    # crop 21 is row 1, column 1 of the first photo's 13 x 20 grid of 32 x 32 crops
    np.testing.assert_array_equal(crops[21], photo[32:64, 32:64] / np.float32(255.0))
    np.testing.assert_array_equal(tokens[21, 5], (photo[40:48, 40:48] / np.float32(255.0)).reshape(-1))
    last = datasets.load_sample_images().images[1]
    np.testing.assert_array_equal(crops[-1], last[384:416, 608:640] / np.float32(255.0))


def test_digit_patches_round_trip_to_the_digits():
    pool = patches.image_pool("digits")
    digits = datasets.load_digits().images  # (1797, 8, 8), 0 … 16
    back = patches.unpatchify(pool.x.numpy().reshape(1797, 4, 16), 4, 8, 8)[..., 0]
    np.testing.assert_allclose(back, digits / 16.0, rtol=0, atol=1e-7)
    np.testing.assert_allclose(pool.sequence(3)[1].numpy(), digits[3, :4, 4:].reshape(-1) / 16.0, atol=1e-7)


def test_patchify_refuses_sizes_that_do_not_divide():
    with pytest.raises(ValueError, match="must divide"):
        patches.patchify(np.zeros((1, 6, 6, 1)), 4)
    with pytest.raises(ValueError, match="Unknown image source"):
        patches.image_pool("cifar")
