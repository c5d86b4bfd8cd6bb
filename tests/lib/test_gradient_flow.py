"""normviz.dynamics: Xiong et al.'s depth scaling measured, hidden-state norms, and the stack against an
independent float64 re-implementation written with torch's functional ops."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from normviz.core import threads, transformer
from normviz.experiments import gradient_flow

SEEDS = (0, 1, 2, 3)


def _last_layer_ratio(placement: str, norm: str = "layernorm") -> float:
    """Mean over 4 seeds of the last layer's gradient norm at L = 24, over the same at L = 6 (contract function)."""
    g24 = np.mean([gradient_flow.gradient_norms(placement, depth=24, dim=64, seed=s, norm=norm)[-1] for s in SEEDS])
    g6 = np.mean([gradient_flow.gradient_norms(placement, depth=6, dim=64, seed=s, norm=norm)[-1] for s in SEEDS])
    return float(g24 / g6)


@pytest.mark.parametrize(
    ("placement", "norm", "low", "high"),
    [
        ("pre", "layernorm", 0.35, 0.8),  # theory 1/√4 = 0.5
        ("post", "layernorm", 0.75, 1.35),  # theory 1
        ("pre", "rmsnorm", 0.35, 0.8),
        ("post", "rmsnorm", 0.75, 1.35),
    ],
)
def test_last_layer_gradient_ratio_l24_over_l6(placement, norm, low, high):
    # checked on 6 disjoint sets of 4 seeds while building: Pre-LN 0.42 ... 0.50, Post-LN 0.95 ... 1.12
    ratio = _last_layer_ratio(placement, norm)
    assert low <= ratio <= high, ratio


def test_contract_shape_and_order():
    g = gradient_flow.gradient_norms("post", depth=5, dim=32, heads=4, seed=3)
    assert isinstance(g, list) and len(g) == 5 and all(isinstance(v, float) and v > 0 for v in g)
    # index 0 is the first layer: a 5-layer stack's first 4 gradients are not the 4-layer stack's (the loss moved)
    # but the 4-layer stack's weights are the 5-layer stack's first 4 layers
    s4 = gradient_flow.build_stack("post", depth=4, dim=32, seed=3)
    s5 = gradient_flow.build_stack("post", depth=5, dim=32, seed=3)
    for a, b in zip(s4.blocks, s5.blocks, strict=False):
        torch.testing.assert_close(a.ffn.w2.weight, b.ffn.w2.weight, rtol=0, atol=0)


@pytest.mark.parametrize("placement", gradient_flow.PLACEMENTS)
def test_depth_sweep_equals_the_contract_at_each_depth(placement):
    sweep = gradient_flow.depth_sweep(placement, dim=16, heads=2, batch=2, tokens=4, seed=1, depths=[1, 3, 6])
    for L, v in zip(sweep.depths, sweep.last_grad, strict=True):
        ref = gradient_flow.gradient_norms(placement, depth=int(L), dim=16, heads=2, seed=1, batch=2, tokens=4)[-1]
        assert v == pytest.approx(ref, rel=1e-5)


def _reference_grads(stack, x, targets, placement: str, norm: str, heads: int) -> list[float]:
    """The docstring's equations, written out in float64 with functional ops (no nn.Module forward)."""
    p = {k: v.detach().double().clone() for k, v in stack.state_dict().items()}
    w2 = {k: v.requires_grad_() for k, v in p.items() if k.endswith("ffn.w2.weight")}
    d = x.shape[-1]

    def nrm(v):
        if norm == "layernorm":
            mu = v.mean(-1, keepdim=True)
            return (v - mu) / torch.sqrt(((v - mu) ** 2).mean(-1, keepdim=True) + transformer.EPS)
        return v / torch.sqrt((v**2).mean(-1, keepdim=True) + transformer.EPS)

    def attn(v, i):
        B, T, _ = v.shape
        lin = [v @ p[f"blocks.{i}.attn.{n}.weight"].T + p[f"blocks.{i}.attn.{n}.bias"] for n in "qkv"]
        q, k, val = (t.reshape(B, T, heads, d // heads).permute(0, 2, 1, 3) for t in lin)  # (B, h, T, d_h)
        a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d // heads), dim=-1)  # (B, h, T, T)
        o = (a @ val).permute(0, 2, 1, 3).reshape(B, T, d)
        return o @ p[f"blocks.{i}.attn.o.weight"].T + p[f"blocks.{i}.attn.o.bias"]

    def ffn(v, i):
        h = torch.relu(v @ p[f"blocks.{i}.ffn.w1.weight"].T + p[f"blocks.{i}.ffn.w1.bias"])
        return h @ w2[f"blocks.{i}.ffn.w2.weight"].T + p[f"blocks.{i}.ffn.w2.bias"]

    h = x.double()
    for i in range(len(stack.blocks)):
        if placement == "post":
            h = nrm(h + attn(h, i))
            h = nrm(h + ffn(h, i))
        elif placement == "pre":
            h = h + attn(nrm(h), i)
            h = h + ffn(nrm(h), i)
        elif placement == "peri":
            h = h + nrm(attn(nrm(h), i))
            h = h + nrm(ffn(nrm(h), i))
        else:
            h = h + attn(h, i)
            h = h + ffn(h, i)
    if placement in ("pre", "peri"):
        h = nrm(h)
    logits = h @ p["readout"].T
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
    grads = torch.autograd.grad(loss, [w2[f"blocks.{i}.ffn.w2.weight"] for i in range(len(stack.blocks))])
    return [float(g.norm()) for g in grads]


@pytest.mark.parametrize("placement", gradient_flow.PLACEMENTS)
@pytest.mark.parametrize("norm", gradient_flow.NORMS)
def test_stack_matches_a_functional_float64_reference(placement, norm):
    kw = {"depth": 3, "dim": 16, "heads": 4, "seed": 2}
    got = gradient_flow.gradient_norms(placement, norm=norm, batch=2, tokens=5, **kw)
    stack = gradient_flow.build_stack(placement, norm=norm, **kw)
    x, targets = gradient_flow.task(batch=2, tokens=5, dim=16, seed=2)
    ref = _reference_grads(stack, x, targets, placement, norm, heads=4)
    np.testing.assert_allclose(got, ref, rtol=2e-4)


def test_xavier_init_and_zero_biases():
    stack = gradient_flow.build_stack("pre", depth=2, dim=64, seed=0)
    w1 = stack.blocks[0].ffn.w1.weight.detach()
    bound = math.sqrt(6 / (64 + 256))
    assert float(w1.abs().max()) <= bound
    assert float(w1.var()) == pytest.approx(bound**2 / 3, rel=0.05)  # U(-a, a) has variance a²/3
    assert all(float(m.bias.detach().abs().max()) == 0 for m in stack.modules() if isinstance(m, torch.nn.Linear))


@pytest.mark.parametrize("norm", gradient_flow.NORMS)
def test_post_ln_hidden_norm_is_sqrt_d_after_every_block(norm):
    prof = gradient_flow.profile("post", depth=8, dim=64, norm=norm, seed=0)
    # ‖LN(v)‖ = √(d·var/(var + ε)): √d to ~ε/(2 var) relative
    np.testing.assert_allclose(prof.hidden_norms[1:], math.sqrt(64), rtol=1e-4)
    assert abs(prof.hidden_norms[0] - math.sqrt(64)) > 0.01  # the input is not normalized: the check can fail


@pytest.mark.parametrize("placement", ["pre", "peri"])
def test_pre_ln_hidden_norm_grows_with_depth(placement):
    h = np.mean([gradient_flow.profile(placement, depth=24, dim=64, seed=s).hidden_norms for s in SEEDS], axis=0)
    assert np.all(np.diff(h[::3]) > 0), h
    assert h[24] > 1.8 * h[6] > 1.8 * h[0]
    # each block adds a branch to the stream: ‖x_L‖² - ‖x_0‖² grows at least linearly in L (exactly so if the
    # branches were independent; attention makes them correlated, measured ~6.5 here)
    growth = (h[24] ** 2 - h[0] ** 2) / (h[6] ** 2 - h[0] ** 2)
    assert 3.0 < growth < 12.0, growth


def test_no_norm_runs_deep_in_float64_and_explodes():
    prof, sweep = gradient_flow.experiment("none", depth=48, dim=16, batch=2, tokens=4, depths=[6, 48])
    assert np.all(np.isfinite(prof.grad_norms))
    assert sweep.last_grad[1] > 1e3 * sweep.last_grad[0]


def test_slope_fits_a_power_law():
    L = np.array([1.0, 2.0, 4.0, 8.0])
    assert gradient_flow.slope(L, 3 * L**-0.5) == pytest.approx(-0.5)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"placement": "middle"}, "Unknown placement"),
        ({"norm": "batchnorm"}, "Unknown norm"),
        ({"dim": 30, "heads": 4}, "not divisible by heads"),
        ({"depth": 49}, "at most 48"),
        ({"depth": 0}, "positive integer"),
        ({"seed": -1}, "non-negative"),
        ({"batch": 4096, "tokens": 512}, "over the cap"),
    ],
)
def test_bad_arguments_say_how_to_fix_them(kwargs, match):
    args = {"placement": "pre", "depth": 2, "dim": 16, "heads": 2} | kwargs
    placement = args.pop("placement")
    with pytest.raises(ValueError, match=match):
        gradient_flow.gradient_norms(placement, **args)


def test_bad_depth_list():
    with pytest.raises(ValueError, match="depths"):
        gradient_flow.depth_sweep("pre", dim=16, heads=2, depths=[])
    with pytest.raises(ValueError, match="depths"):
        gradient_flow.depth_sweep("pre", dim=16, heads=2, depths=[0, 2])


def test_one_thread_restores_the_thread_count_even_when_calls_overlap():
    """Two overlapping callers in threads, as two Streamlit sessions: the second thread is created while the
    first is inside (so it starts on 1 thread), and leaves last. Afterwards new threads must not start on 1."""
    import threading

    before = torch.get_num_threads()
    if before == 1:
        pytest.skip("torch uses one thread on this machine: nothing to restore")
    first_in, first_out, seen = threading.Event(), threading.Event(), {}

    def first():
        with threads.one_thread():
            first_in.set()
            first_out.wait(10)

    def second():
        seen["started_with"] = torch.get_num_threads()
        with threads.one_thread():
            first_out.set()  # the first caller leaves while this one is inside
            t1.join(10)
            seen["inside"] = torch.get_num_threads()

    def later():
        seen["later"] = torch.get_num_threads()

    t1 = threading.Thread(target=first)
    t1.start()
    first_in.wait(10)
    t2 = threading.Thread(target=second)
    t2.start()
    t2.join(10)
    t3 = threading.Thread(target=later)
    t3.start()
    t3.join(10)
    assert seen["started_with"] == 1  # the premise: threads inherit the last value set
    assert seen["inside"] == 1
    assert seen["later"] == before, "a thread created afterwards (a new Streamlit run) was left on one thread"
    assert torch.get_num_threads() == before


# --- the per-layer trend (the page's sentences rest on these numbers) ---


@pytest.mark.parametrize(
    ("values", "direction", "ratio"),
    [([0.29, 0.2, 0.093], "falls", 0.093 / 0.29), ([0.2, 0.5], "rises", 2.5), ([0.26, 0.2, 0.3, 0.27], "flat", 27 / 26),
     ([0.3], "flat", 1.0), ([1.0, 0.67], "flat", 0.67), ([1.0, 0.66], "falls", 0.66)],
)  # fmt: skip
def test_trend_reads_the_curve(values, direction, ratio):
    t = gradient_flow.trend(values)
    assert t.direction == direction and t.ratio == pytest.approx(ratio)
    assert (t.low, t.high) == (min(values), max(values))
    assert values[t.low_layer - 1] == t.low and values[t.high_layer - 1] == t.high  # layers count from 1


@pytest.mark.parametrize("bad", [[], [0.1, 0.0], [0.1, float("nan")], [[0.1, 0.2]]])
def test_trend_errors_say_what_it_needs(bad):
    with pytest.raises(ValueError, match="finite positive"):
        gradient_flow.trend(bad)


@pytest.fixture(scope="module")
def default_profiles():
    """L = 12, d = 64, 4 heads, batch 8, 4 seeds: the numbers the module docstring and the page's expander quote."""
    return {p: np.mean([gradient_flow.gradient_norms(p, depth=12, dim=64, seed=s) for s in SEEDS], 0)
            for p in ("post", "pre")}  # fmt: skip


def test_pre_ln_falls_with_the_layer_and_post_ln_stays_flat_in_this_model(default_profiles):
    # Xiong et al. (Fig. 3) report the opposite shape (Post-LN grows to the top, Pre-LN flat); this model measures
    pre, post = gradient_flow.trend(default_profiles["pre"]), gradient_flow.trend(default_profiles["post"])
    assert pre.direction == "falls" and pre.first == pytest.approx(0.29, abs=0.01)
    assert pre.last == pytest.approx(0.093, abs=0.003) and pre.low_layer == 12
    assert post.direction == "flat" and 0.19 < post.low < post.high < 0.31
    assert post.first == pytest.approx(0.26, abs=0.01) and pre.first > post.first
    assert 2 < post.low_layer < 10 < post.high_layer  # dips in the middle, highest near the top


def _stream_and_w2_grads(placement: str, seed: int, *, cut_branches: bool) -> tuple[np.ndarray, np.ndarray]:
    """‖∂loss/∂x_l‖ after each block and each layer's ‖∂loss/∂W₂‖; ``cut_branches``: the branches' norms pass
    no gradient back (only the residual identity carries it down), by a hook that detaches their inputs."""
    stack = gradient_flow.build_stack(placement, depth=12, dim=64, seed=seed)
    if cut_branches:
        for block in stack.blocks:
            for n in block.norms:
                n.register_forward_pre_hook(lambda _m, args: (args[0].detach(),))
    x, targets = gradient_flow.task(batch=8, tokens=16, dim=64, seed=seed)
    hidden = []
    for block in stack.blocks:
        x = block(x)
        hidden.append(x)
    loss = stack.head(x, targets)
    grads = torch.autograd.grad(loss, hidden + [b.ffn.w2.weight for b in stack.blocks])
    return np.array([g.norm().item() for g in grads[:12]]), np.array([g.norm().item() for g in grads[12:]])


def test_pre_ln_trend_comes_from_the_branch_jacobians_not_the_final_norm():
    stream, w2 = np.mean([_stream_and_w2_grads("pre", s, cut_branches=False) for s in SEEDS], 0)
    assert stream[0] / stream[-1] > 1.8  # the gradient grows on its way down the residual stream ...
    assert np.all(np.diff(stream) < 0)  # ... at every block
    np.testing.assert_allclose(
        w2, np.mean([gradient_flow.gradient_norms("pre", depth=12, dim=64, seed=s) for s in SEEDS], 0), rtol=1e-4
    )  # fmt: skip  (the same stacks)
    # only the identity path (the final norm's 1/‖x_L‖ still in place): every layer gets the same stream gradient,
    # and the W₂ gradients lose their fall
    stream, w2 = np.mean([_stream_and_w2_grads("pre", s, cut_branches=True) for s in SEEDS], 0)
    np.testing.assert_allclose(stream, stream[-1], rtol=1e-5)
    assert gradient_flow.trend(w2).direction == "flat" and w2.max() / w2.min() < 1.15  # measured 1.06
