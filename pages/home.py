"""Home: what normalization does, and where to look."""

import streamlit as st

import ui

ui.require_app()

st.title("normviz — see what normalization does")
st.markdown(
    """
Inside a transformer every token is a vector of **d** numbers. Before attention and before the MLP,
a *normalization layer* rescales those vectors. Which numbers share one mean and one variance is
the whole story, and each norm answers it differently:
"""
)
st.markdown(
    """
| norm | statistics taken over | what the output looks like (γ = 1, β = 0) |
|---|---|---|
| **LayerNorm** | the d features of one token | a sphere of radius √d inside the hyperplane Σy = 0 |
| **RMSNorm** | the d features of one token, no centering | the whole sphere of radius √d |
| **GroupNorm(G)** | d/G contiguous features of one token | G smaller spheres, one per group |
| **InstanceNorm** | one feature over the T tokens of one sequence | couples the tokens of a sequence |
| **BatchNorm** | one feature over all B·T tokens of the batch | a token's output depends on its batch-mates |
| **DyT** | nothing: γ·tanh(αx) + β element by element | squashed, no statistics at all |
"""
)
st.latex(r"\mathrm{LayerNorm}(x) = \gamma \odot \frac{x - \mu(x)\mathbf{1}}{\sqrt{\sigma^2(x) + \varepsilon}} + \beta")
st.markdown(
    "LayerNorm is two steps you can see: project the token onto the hyperplane ⟂ **1** (remove its "
    "mean), then scale it to length √d (Brody et al. 2023). That is why its outputs lie on a sphere."
)
LINKS = [
    ("pages/hypersphere.py", "Hypersphere: LayerNorm, RMSNorm and DyT in 3D", ":material/language:"),
    ("pages/batch.py", "Batch: BatchNorm couples a token to its batch-mates", ":material/grain:"),
    ("pages/groups.py", "Groups: GroupNorm's product of spheres", ":material/grid_view:"),
    ("pages/instance.py", "Instance: InstanceNorm couples the tokens of a sequence", ":material/view_week:"),
    ("pages/coupling.py", "Coupling: the exact Jacobian — who moves when one token moves", ":material/hub:"),
    ("pages/cube.py", "Statistics cube: which cells share one mean and variance", ":material/view_in_ar:"),
    ("pages/gradient-flow.py", "Gradient flow: Post-LN vs Pre-LN", ":material/trending_down:"),
    ("pages/jacobian.py", "Jacobian: the gradient a norm sends back, in 3D", ":material/north_east:"),
    ("pages/attention.py", "Attention: saturation and unselectable keys", ":material/visibility:"),
    ("pages/real-data.py", "Real data: a real transformer's residual stream, or your own", ":material/neurology:"),
]
for path, label, icon in LINKS:
    st.page_link(path, label=label, icon=icon)
st.caption(
    "Every number in the app comes from torch's own operations on all tokens; 3D views draw a "
    "fixed sample of at most a few thousand points and say what their projection keeps."
)
