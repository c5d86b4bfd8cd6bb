"""Home: a first picture of what normalization does, then where to look."""

import streamlit as st

import ui
from normviz.experiments import hypersphere
from normviz.figures import scenes
from ui import navigation

ui.require_app()

HERO = dict(kind="anisotropic", tokens=400, dim=3, seed=0, eps=1e-12)  # the hero's tokens and LayerNorm's ε


@st.cache_data(max_entries=1, show_spinner="Normalizing 400 tokens…")
def hero_view(kind, tokens, dim, seed, eps):
    return hypersphere.compute(ui.sample(kind, 1, tokens, dim, seed), "layernorm", eps=eps, seed=seed)


st.title("normviz — see what normalization does")
st.markdown("Every token of a transformer is a vector; a normalization layer rescales it before attention and the MLP.")
v = ui.guarded(hero_view, **HERO, stop=False)
if v is not None:
    hero = lambda: scenes.sphere_view_figure(v, ui.labels.NORMS["layernorm"]).update_layout(height=420)  # noqa: E731
    ui.plotly_view(ui.shared_figure(("home_hero", *HERO.items()), hero), key="home_hero", revision="hero")
st.markdown("**LayerNorm puts every token on a sphere — turn it, then open Hypersphere.**")
st.page_link("pages/hypersphere.py", label="Open Hypersphere", icon=":material/language:")
st.caption(
    f"{HERO['tokens']} random tokens with d = {HERO['dim']} (anisotropic input), exact coordinates, "
    f"LayerNorm with γ = 1, β = 0, ε = {HERO['eps']:g}: every output lies on the circle of radius √3 in the "
    "plane Σy = 0."
)
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
with st.expander("LayerNorm's formula, and why its outputs lie on a sphere"):
    st.latex(
        r"\mathrm{LayerNorm}(x) = \gamma \odot \frac{x - \mu(x)\mathbf{1}}{\sqrt{\sigma^2(x) + \varepsilon}} + \beta"
    )
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
