"""The app's pages, in the order a course takes them: one table for the sidebar, the home page and links."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PageInfo:
    path: str  # the script under pages/ (named like its URL: a fresh server's first visit finds it)
    title: str
    icon: str
    section: str  # the sidebar's group
    prefix: str  # every control of the page is keyed "<prefix>…", which is also its URL parameter
    blurb: str  # what the home page says of it

    @property
    def url_path(self) -> str:
        return self.path.removeprefix("pages/").removesuffix(".py")


HOME = PageInfo("pages/home.py", "Home", ":material/home:", "", "", "")
PAGES = (
    PageInfo("pages/hypersphere.py", "Hypersphere", ":material/language:", "Geometry", "hs_",
             "LayerNorm, RMSNorm and DyT put every token on a sphere (or not), in 3D"),
    PageInfo("pages/groups.py", "Groups", ":material/grid_view:", "Geometry", "gn_",
             "GroupNorm's product of spheres: one per group of features"),
    PageInfo("pages/cube.py", "Statistics cube", ":material/view_in_ar:", "Who shares statistics", "cb_",
             "which cells of the B × T × d block share one mean and variance"),
    PageInfo("pages/batch.py", "Batch", ":material/grain:", "Who shares statistics", "bt_",
             "BatchNorm couples a token to its batch-mates, and batch size decides how much"),
    PageInfo("pages/instance.py", "Instance", ":material/view_week:", "Who shares statistics", "in_",
             "InstanceNorm couples the tokens of a sequence"),
    PageInfo("pages/coupling.py", "Coupling", ":material/hub:", "Who shares statistics", "cp_",
             "the exact Jacobian: who moves when one token moves"),
    PageInfo("pages/gradient-flow.py", "Gradient flow", ":material/trending_down:", "Learning dynamics", "gf_",
             "Post-LN against Pre-LN at initialization: each layer's gradient"),
    PageInfo("pages/training.py", "Training", ":material/model_training:", "Learning dynamics", "tr_",
             "train small transformers live with each norm: warm-up, batch size, no norm, the causal leak"),
    PageInfo("pages/jacobian.py", "Jacobian", ":material/north_east:", "Learning dynamics", "jc_",
             "the gradient a norm sends back, as 3D arrows"),
    PageInfo("pages/attention.py", "Attention", ":material/visibility:", "Learning dynamics", "at_",
             "softmax saturation, and keys that can never win"),
    PageInfo("pages/real-data.py", "Real data", ":material/neurology:", "Your data", "rd_",
             "a real transformer's residual stream, or your own activations"),
)  # fmt: skip


def prefix_of(url_path: str) -> str:
    """The control prefix of the page at ``url_path`` ("" for the home page and unknown paths)."""
    return next((p.prefix for p in PAGES if p.url_path == url_path), "")
