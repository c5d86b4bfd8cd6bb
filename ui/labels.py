"""Every display name the pages show for a value, in one table per kind of value.

A control's URL value is its label (Streamlit binds ``format_func``'s text), so these tables are also
the spelling of every link: change a label only together with :data:`LEGACY`, which keeps links
written before the change working. ``tests/lib/test_labels.py`` ties the tables to the registries
they describe (``norms.NORMS``, ``inputs.KINDS``, …).
"""

from __future__ import annotations

import html
from collections.abc import Iterable

from normviz.core import inputs
from normviz.experiments import gradient_flow

NORMS = {  # normviz.core.norms.NORMS
    "layernorm": "LayerNorm",
    "rmsnorm": "RMSNorm",
    "batchnorm": "BatchNorm",
    "groupnorm": "GroupNorm",
    "instancenorm": "InstanceNorm",
    "dyt": "DyT",
    "identity": "None (identity)",
}
KINDS = {  # normviz.core.inputs.KINDS, then the real inputs (see ui/real_inputs.py)
    "gaussian": "Isotropic Gaussian",
    "shifted": "Shifted mean",
    "anisotropic": "Anisotropic scales",
    "outliers": "Outlier features (every token)",
    "massive": "Massive activations (a few tokens)",
    "heavy_tailed": "Heavy-tailed (Student-t)",
    "lognormal_scale": "Per-token lognormal scale",
    "clustered": "Clustered (token types)",
    "low_rank": "Low-rank",
    "real": "Real: MiniLM's residual stream",
    "upload": "Real: your uploaded file",
    "docs": "Real: MiniLM on 2,000 documentation sentences",
    "text": "Real: MiniLM on your sentences",
    "photos": "Real: patches of two photos",
    "digits": "Real: patches of handwritten digits",
}
REAL_KINDS = ("real", "upload")
POOL_KINDS = ("docs", "text", "upload", "photos", "digits")  # pools of real sequences (ui/token_pools.py)
KIND_HELP = "\n\n".join(f"**{KINDS[k]}**: {inputs.DESCRIPTIONS[k]}" for k in inputs.KINDS)
REAL_KIND_HELP = (
    "**Real**: the tokens entering one LayerNorm of all-MiniLM-L6-v2 (d = 384) for your text, or your own "
    "activations (see the Real data page for the model's own γ, β, ε)."
)
POOL_KIND_HELP = (
    "**Real pools** (batches of B distinct real sequences, padded, with their mask): "
    f"**{KINDS['docs']}**: the input of one of MiniLM's LayerNorms for the English prose of Python's reference "
    "documentation, one sequence per sentence (5–64 tokens, captured once per server); "
    f"**{KINDS['text']}**: the same for your sentences; **{KINDS['upload']}**: (B, T, d) activations with a "
    "'mask' array (B, T) beside them; "
    f"**{KINDS['photos']}**: 8 × 8 RGB patches (raw pixels, d = 192) of 32 × 32 crops of scikit-learn's two "
    f"sample photos, 16 per crop; **{KINDS['digits']}**: 4 × 4 patches (d = 16) of its 1,797 digits, 4 per digit."
)
PROJECTIONS = {"ones+pca": "all-ones axis + 2 PCs", "pca": "top 3 PCs"}
PLACEMENTS = dict(gradient_flow.LABELS)  # post, pre, peri, none
UPSTREAM = {  # normviz.experiments.jacobian.UPSTREAM
    "tangent": "along the output set (tangent)",
    "radial": "along y (changes only the scale)",
    "ones": "along 1 (changes only the mean)",
    "e1": "axis e₁",
    "e2": "axis e₂",
    "e3": "axis e₃",
}
DIRECTIONS = {"random": "a random direction", "ones": "the all-ones axis"}  # coupling.DIRECTIONS
ATTENTION_VARIANTS = {
    "raw": "no LayerNorm (raw x)",
    "projection": "projection only (x − μ1)",
    "layernorm": "projection + scaling (LayerNorm)",
}
MODEL_SOURCES = {"minilm": "MiniLM (bundled, offline)", "other": "Another model", "upload": "Upload a file"}
MOMENTA = {"0.01": 0.01, "0.1 (torch default)": 0.1, "0.5": 0.5, "None (cumulative average)": None}
COUPLING_PATTERNS = {  # what each norm's token × token Jacobian looks like
    "layernorm": "diagonal: a token's output depends on its own input only",
    "rmsnorm": "diagonal: a token's output depends on its own input only",
    "groupnorm": "diagonal across tokens; inside a token, block-diagonal by group",
    "instancenorm": "block-diagonal by sequence: the tokens of one sequence share statistics",
    "batchnorm": "dense: every token's output depends on every token of the batch",
    "dyt": "diagonal, and diagonal inside a token too: tanh acts on each value alone",
    "identity": "the identity matrix: nothing is coupled",
}

# Labels that links used before they were unified: an old link's value is read as the new label.
LEGACY = {
    "Isotropic Gaussian (image-like)": KINDS["gaussian"],  # the Batch page's spelling (bt_kind) until 2026-12
    "Heavy-tailed (Student-t, NLP-like)": KINDS["heavy_tailed"],
    "DyT (Dynamic Tanh)": NORMS["dyt"],  # the Hypersphere page's spelling (hs_norm)
    "Massive outlier features": KINDS["outliers"],  # until issue 11: they are outlier features, not massive ones
}

TABLES = (NORMS, KINDS, PROJECTIONS, PLACEMENTS, UPSTREAM, DIRECTIONS, ATTENTION_VARIANTS, MODEL_SOURCES)


def subset(table: dict[str, str], values: Iterable[str]) -> dict[str, str]:
    """The entries of ``table`` for ``values``, in that order (a page offering some of the norms)."""
    return {v: table[v] for v in values}


def url_forms(value: object) -> set[str]:
    """Every label a value is shown as, in any table: how a link may spell it."""
    return {t[value] for t in TABLES if isinstance(value, str) and value in t}


def module_html(name: str) -> str:
    """A module's dotted name as inline code that a narrow column wraps after a dot, never inside a part
    (``encoder.layer.0.output.LayerNor`` / ``m`` at 125% zoom): ``<wbr>`` after each dot, which copying drops.
    Each part is escaped (another model's names are not ours); show it with ``unsafe_allow_html=True``."""
    return "<code>" + ".<wbr>".join(html.escape(part) for part in name.split(".")) + "</code>"
