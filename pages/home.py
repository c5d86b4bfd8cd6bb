"""Home: what normalization does, and where to look."""

import streamlit as st

import ui
from ui import navigation

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
for p in navigation.PAGES:  # the sidebar's pages, in its order
    st.page_link(p.path, label=f"{p.title}: {p.blurb}", icon=p.icon)
st.caption(
    "Every number in the app comes from torch's own operations on all tokens; 3D views draw a "
    "fixed sample of at most a few thousand points and say what their projection keeps."
)
