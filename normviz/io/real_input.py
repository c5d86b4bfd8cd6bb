"""Which real tokens a page shows, as a small frozen (hashable) value: a model's capture or an uploaded file.

A page builds one from its controls and passes it to its cached views (``st.cache_data`` hashes it);
``ui.real_inputs.real_tokens`` turns it into a ``(1, N, d)`` tensor. Nothing here holds data: an
``UploadInput`` only names a file by its digest, and the calling session must hold that file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = ["ModelInput", "PoolInput", "RealInput", "UploadInput"]


@dataclass(frozen=True)
class RealInput:
    """Base of every real input. Subclasses carry a ``kind`` field so that two kinds never hash alike
    (``st.cache_data`` hashes a dataclass by its fields, not by its class)."""


@dataclass(frozen=True)
class ModelInput(RealInput):
    """The residual stream entering norm number ``point`` of model ``source`` for ``text`` (one sequence per
    sentence, each cut to ``max_tokens``).

    >>> ModelInput("minilm", "Hello.", 2, 64).kind
    'model'
    """

    source: str
    text: str
    point: int
    max_tokens: int
    kind: Literal["model"] = field(default="model", init=False)


@dataclass(frozen=True)
class UploadInput(RealInput):
    """The file the calling session uploaded, named by ``digest`` (of its bytes); ``drop_nonfinite`` says whether
    tokens holding NaN/Inf were dropped when it was read.

    >>> UploadInput("0123abcd", drop_nonfinite=True) == UploadInput("0123abcd", True)
    True
    """

    digest: str
    drop_nonfinite: bool = False
    kind: Literal["upload"] = field(default="upload", init=False)


@dataclass(frozen=True)
class PoolInput(RealInput):
    """A pool of real sequences (``normviz.io.token_pool``): ``source`` is "docs" (MiniLM over the first
    ``sentences`` sentences of Python's reference documentation), "text" (MiniLM over ``text``, one sequence per
    sentence), "photos" or "digits" (image patches; ``point`` and ``text`` unused). ``point`` is MiniLM's capture
    point (0 … 12).

    >>> PoolInput("docs", 2).kind, PoolInput("photos").key
    ('pool', 'real-pool:photos')
    """

    source: str
    point: int = 0
    text: str = ""
    sentences: int = 2000
    kind: Literal["pool"] = field(default="pool", init=False)

    @property
    def key(self) -> str:
        """The background job's key: one capture per distinct pool, whoever asks."""
        if self.source == "docs":
            return f"real-pool:docs:{self.sentences}:{self.point}"
        if self.source == "text":
            import hashlib

            return f"real-pool:text:{hashlib.sha256(self.text.encode()).hexdigest()[:16]}:{self.point}"
        return f"real-pool:{self.source}"
