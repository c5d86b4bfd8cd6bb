"""Image-like real tokens: square patches of real images, as a vision transformer's patch embedding sees them.

A ViT cuts an image ``(H, W, C)`` into non-overlapping ``p × p`` patches, flattens each to ``p·p·C`` numbers
(row-major inside the patch, channels last) and sends that vector through a learned linear map. Here the tokens
are the **raw patch pixels**, not a random linear embedding: a fixed random map would invent features that no
model has (its per-feature batch statistics are linear mixtures of the pixels' ones), while raw pixels are exact
(the tokens round-trip to the image, tested) and are what the first layer of every vision model, a ViT's patch
embedding or a CNN's first convolution, actually reads. Pixel values are scaled to [0, 1].

Two offline sources, shipped with scikit-learn:

* ``photos``: its two sample photos (``load_sample_images``, 427 × 640 RGB), cut into 32 × 32 crops (a crop is
  one "image" of a batch, 13 × 20 per photo, 520 in all), each crop into 16 patches of 8 × 8 × 3 = 192 values;
* ``digits``: its 1,797 handwritten digits (``load_digits``, 8 × 8 grey, values 0 … 16), each into 4 patches of
  4 × 4 = 16 values.
"""

from __future__ import annotations

import numpy as np
import torch

from normviz.io.token_pool import TokenPool

__all__ = ["IMAGE_SOURCES", "image_pool", "patchify", "unpatchify"]

IMAGE_SOURCES = ("photos", "digits")


def patchify(images: np.ndarray, p: int) -> np.ndarray:
    """``(n, H, W, C)`` images → ``(n, (H/p)·(W/p), p·p·C)`` patch tokens, row-major over the patch grid.

    >>> img = np.arange(16.0).reshape(1, 4, 4, 1)
    >>> patchify(img, 2)[0, 0].tolist()  # the top-left 2 × 2 patch
    [0.0, 1.0, 4.0, 5.0]
    """
    if images.ndim != 4:
        raise ValueError(f"images must be (n, H, W, C), got shape {images.shape}. Add a channel axis: x[..., None].")
    n, H, W, C = images.shape
    if p < 1 or H % p or W % p:
        raise ValueError(f"The patch size {p} must divide the image size {H} × {W}: crop the images first.")
    x = images.reshape(n, H // p, p, W // p, p, C)  # (n, gh, p, gw, p, C)
    x = x.transpose(0, 1, 3, 2, 4, 5)  # (n, gh, gw, p, p, C)
    return x.reshape(n, (H // p) * (W // p), p * p * C)  # (n, T, p·p·C)


def unpatchify(tokens: np.ndarray, p: int, H: int, W: int) -> np.ndarray:
    """The inverse of :func:`patchify`: ``(n, T, p·p·C)`` → ``(n, H, W, C)``.

    >>> img = np.random.default_rng(0).random((2, 6, 4, 3))
    >>> bool((unpatchify(patchify(img, 2), 2, 6, 4) == img).all())
    True
    """
    n, T, f = tokens.shape
    if p < 1 or H % p or W % p or T != (H // p) * (W // p) or f % (p * p):
        raise ValueError(f"tokens of shape {tokens.shape} are not {p} × {p} patches of a {H} × {W} image.")
    C = f // (p * p)
    x = tokens.reshape(n, H // p, W // p, p, p, C)  # (n, gh, gw, p, p, C)
    return x.transpose(0, 1, 3, 2, 4, 5).reshape(n, H, W, C)


def _crops(image: np.ndarray, size: int) -> np.ndarray:
    """Non-overlapping ``size × size`` crops of one ``(H, W, C)`` image, row-major: ``(n, size, size, C)``."""
    H, W, C = image.shape
    gh, gw = H // size, W // size
    x = image[: gh * size, : gw * size].reshape(gh, size, gw, size, C).transpose(0, 2, 1, 3, 4)
    return x.reshape(gh * gw, size, size, C)


def images(source: str) -> tuple[np.ndarray, int]:
    """The ``(n, H, W, C)`` float32 images in [0, 1] of ``source`` and their patch size."""
    from sklearn import datasets

    if source == "photos":
        photos = datasets.load_sample_images().images  # two (427, 640, 3) uint8
        crops = np.concatenate([_crops(np.asarray(im), 32) for im in photos])  # (520, 32, 32, 3)
        return crops.astype(np.float32) / 255.0, 8
    if source == "digits":
        digits = datasets.load_digits().images  # (1797, 8, 8) float64, 0 … 16
        return (digits[..., None] / 16.0).astype(np.float32), 4
    raise ValueError(f"Unknown image source {source!r}: pick one of {', '.join(IMAGE_SOURCES)}.")


def image_pool(source: str) -> TokenPool:
    """Every image of ``source`` as one sequence of its patch tokens (no padding: every length is the same).

    >>> pool = image_pool("digits"); pool.n_sequences, pool.dim, int(pool.lengths[0])
    (1797, 16, 4)
    """
    ims, p = images(source)
    tok = patchify(ims, p)  # (n, T, p·p·C)
    n, T, f = tok.shape
    what = {"photos": "32 × 32 crops of scikit-learn's two sample photos", "digits": "scikit-learn's digits"}
    return TokenPool(
        torch.from_numpy(np.ascontiguousarray(tok.reshape(n * T, f))),
        np.full(n, T, dtype=np.int64),
        f"{p} × {p} patches of {what[source]}, raw pixels in [0, 1] (d = {f})",
    )
