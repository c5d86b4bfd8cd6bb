"""device: one choice of device, every page's maths taken there, results handed back on the CPU.

No GPU is needed: a spy on ``device.device`` proves each entry point asks, and the "meta" device (tensors
with shapes but no data) proves its tensors really go where the answer says — anything computed there
cannot be read back, so an entry point that moved its maths raises, one that stayed on the CPU does not.
On a CUDA machine the last tests compare CUDA against the CPU.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch
from torch import nn

from normviz.core import device, inputs
from normviz.experiments import (
    attention,
    batch,
    batch_running,
    batch_stats,
    coupling,
    cube,
    gradient_flow,
    groups,
    hypersphere,
    instance,
    jacobian,
    real_data,
)
from normviz.io import capture

CUDA = torch.cuda.is_available()

# --- the choice ----------------------------------------------------------------------------------------


def test_env_override_picks_the_cpu(monkeypatch):
    monkeypatch.setenv(device.ENV, "cpu")
    assert device.device() == torch.device("cpu")
    assert device.float64_device() == torch.device("cpu")
    assert f"{device.ENV}=cpu" in device.describe()


def test_env_override_is_case_and_space_blind(monkeypatch):
    monkeypatch.setenv(device.ENV, " CPU ")
    assert device.device().type == "cpu"


@pytest.mark.parametrize("bad", ["gpu", "tpu", "cuda:0"])
def test_env_override_unknown_name_says_the_choices(monkeypatch, bad):
    monkeypatch.setenv(device.ENV, bad)
    with pytest.raises(ValueError, match="Pick one of cuda, mps, cpu"):
        device.device()


@pytest.mark.skipif(CUDA, reason="this machine has CUDA: asking for it is not an error here")
def test_env_override_cuda_without_cuda_says_so(monkeypatch):
    monkeypatch.setenv(device.ENV, "cuda")
    with pytest.raises(ValueError, match="no CUDA device"):
        device.device()


def test_no_override_follows_torch(monkeypatch):
    monkeypatch.delenv(device.ENV, raising=False)
    want = "cuda" if CUDA else ("mps" if torch.backends.mps.is_available() else "cpu")
    assert device.device().type == want


def test_forced_wins_over_env_and_restores(monkeypatch):
    monkeypatch.setenv(device.ENV, "cpu")
    before = device.device()
    with device.forced("cpu") as dev:
        assert dev == device.device() == torch.device("cpu")
    assert device.device() == before
    with pytest.raises(ValueError, match="Pick one of"), device.forced("nope"):
        pass


def test_f64_keeps_the_device_except_on_mps():
    t = torch.ones(3)
    assert device.f64(t).dtype == torch.float64 and device.f64(t).device == t.device
    m = torch.ones(3, device="meta")  # a device that has float64 keeps the tensor where it is
    assert device.f64(m).device.type == "meta"


def test_placement_notes_name_the_device_and_every_cpu_step():
    with device.forced("cpu"):
        lines = device.placement_notes()
    assert lines[0] == f"{device.ON_DEVICE}: CPU"
    assert lines[1:] == [f"{what}: CPU" for what in device.ON_CPU]
    text = " ".join(lines)
    for word in ("Jacobians", "Qhull", "scikit-learn", "sampling", "exact checks"):
        assert word in text


def test_placement_notes_say_cuda_when_the_device_is_cuda(monkeypatch):
    monkeypatch.setattr(device, "device", lambda: torch.device("cuda"))
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda dev=None: "NVIDIA Test")
    lines = device.placement_notes()
    assert lines[0].endswith(": CUDA (NVIDIA Test)") and all(line.endswith(": CPU") for line in lines[1:])


# --- every entry point: asks device(), hands back CPU results --------------------------------------------


def _x(tokens=64, dim=8):
    return inputs.sample("outliers", batch=1, tokens=tokens, dim=dim, seed=3)  # (1, N, d) on the CPU


def _stack_tokens():
    return [inputs.sample("gaussian", batch=1, tokens=40, dim=16, seed=s)[0] for s in range(2)]  # (N, d) each


ON_DEVICE = {
    "hypersphere.compute": lambda: hypersphere.compute(_x(), "layernorm", max_points=20, max_elements=64),
    "groups.group_view": lambda: groups.group_view("outliers", tokens=64, dim=12, groups=3),
    "groups.group_view_of": lambda: groups.group_view_of(_x(dim=12), groups=4),
    "instance.instance_view": lambda: instance.instance_view("gaussian", batch=2, tokens=6, dim=8),
    "instance.padding": lambda: instance.padding("gaussian", batch=3, tokens=6, dim=8, pad_value=10.0),
    "batch.probe_outputs": lambda: batch.probe_outputs("gaussian", batch=4, tokens=4, dim=8, batches=10),
    "batch.cloud": lambda: batch.cloud("gaussian", batch_size=4, tokens=4, dim=8, batches=10),
    "batch.spread_sweep": lambda: batch.spread_sweep("gaussian", batch_sizes=[2, 4], tokens=4, dim=8, batches=10),
    "batch_stats.stats_error": lambda: batch_stats.stats_error(
        "gaussian", batch_sizes=[2, 4], tokens=4, dim=4, batches=5, variable_length=True
    ),
    "batch_running.running_stats": lambda: batch_running.running_stats("gaussian", batch=4, tokens=4, dim=8, steps=5),
    "batch_running.train_eval": lambda: batch_running.train_eval(
        "gaussian", batch_sizes=[2, 4], tokens=4, dim=8, steps=5, momentum=0.1, r_max=3.0, d_max=5.0
    ),
    "coupling.coupling": lambda: coupling.coupling("batchnorm", "gaussian", batch=2, tokens=3, dim=4),
    "coupling.motion": lambda: coupling.motion("batchnorm", "gaussian", batch=2, tokens=3, dim=4, steps=5),
    "gradient_flow.run": lambda: gradient_flow.run(
        "pre", depth=2, dim=8, heads=2, norm="layernorm", batch=2, tokens=4, seed=0
    ),
    "gradient_flow.run none": lambda: gradient_flow.run(
        "none", depth=2, dim=8, heads=2, norm="layernorm", batch=2, tokens=4, seed=0
    ),
    "attention.saturation": lambda: attention.saturation(dim=8, tokens=4, batch=2, scales=[0.1, 10.0]),
    "real_data.real_view": lambda: real_data.real_view(_x(dim=16)[0], weight=torch.ones(16), max_points=20),
    "real_data.massive": lambda: real_data.massive(_x(dim=16)[0]),
    "real_data.layer_stats": lambda: real_data.layer_stats(_stack_tokens()),
}

# small, exact or CPU-only work that stays on the CPU on purpose (device.ON_CPU says so in the sidebar)
ON_CPU = {
    "cube.changed_cells": lambda: cube.changed_cells("batchnorm", (2, 3, 4), (1, 0, 2)),
    "jacobian.arrows": lambda: jacobian.arrows("layernorm"),
    "jacobian.scale_sweep": lambda: jacobian.scale_sweep("rmsnorm", scales=[1.0, 2.0]),
    "attention.attention_maps": lambda: attention.attention_maps(2.0, dim=8, tokens=4, batch=1),
    "attention.unselectable_fraction": lambda: attention.unselectable_fraction(n=8, dim=3, sets=5),
    "attention.keys_view": lambda: attention.keys_view(n=6),
    "batch_stats.padding_shift": lambda: batch_stats.padding_shift(
        "gaussian", batch=4, tokens=8, dim=4, pad_shares=[0.0, 0.5]
    ),
}


def _tensors(value, path="result"):
    """Every (path, tensor) inside a result: dataclass fields, tuples, lists and dict values."""
    if isinstance(value, torch.Tensor):
        yield path, value
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            yield from _tensors(getattr(value, f.name), f"{path}.{f.name}")
    elif isinstance(value, (tuple, list)):
        for i, v in enumerate(value):
            yield from _tensors(v, f"{path}[{i}]")
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _tensors(v, f"{path}[{k!r}]")


@pytest.fixture
def spy(monkeypatch):
    """Replace device.device with a counter that answers the CPU."""
    calls = []

    def fake() -> torch.device:
        calls.append(1)
        return torch.device("cpu")

    monkeypatch.setattr(device, "device", fake)
    return calls


@pytest.mark.parametrize("name", list(ON_DEVICE))
def test_entry_point_asks_device_and_returns_cpu_results(spy, name):
    result = ON_DEVICE[name]()
    assert spy, f"{name} never asked device.device() where to compute"
    for path, t in _tensors(result):
        assert t.device.type == "cpu", f"{name}: {path} is on {t.device}"


@pytest.mark.parametrize("name", list(ON_DEVICE))
def test_entry_point_computes_on_the_device_it_is_given(monkeypatch, name):
    """On "meta" nothing can be read back: an entry point that moved its maths there must fail."""
    monkeypatch.setattr(device, "device", lambda: torch.device("meta"))
    with pytest.raises((RuntimeError, NotImplementedError), match=r"(?i)meta"):
        ON_DEVICE[name]()


@pytest.mark.parametrize("name", list(ON_CPU))
def test_cpu_on_purpose_entry_points_stay_on_the_cpu(monkeypatch, name):
    monkeypatch.setattr(device, "device", lambda: torch.device("meta"))
    result = ON_CPU[name]()  # no meta error: nothing went to device()
    for path, t in _tensors(result):
        assert t.device.type == "cpu", f"{name}: {path} is on {t.device}"


def test_capture_runs_the_batch_where_the_model_is():
    """capture moves the batch to the model's device; the captured tensors come back on the CPU."""
    net = nn.Sequential(nn.Linear(3, 4), nn.LayerNorm(4)).to("meta")
    # a batch left on the CPU would fail inside Linear ("not on the expected device"); moved, it reaches the
    # pre-hook, whose copy to the CPU is what cannot read a meta tensor
    with pytest.raises(NotImplementedError, match="Cannot copy out of meta tensor"):
        capture.capture(net, {"input": torch.ones(1, 2, 3)})
    cap = capture.capture(nn.Sequential(nn.Linear(3, 4), nn.LayerNorm(4)), {"input": torch.ones(1, 2, 3)})
    assert cap.inputs[0].device.type == "cpu" and cap.mask.device.type == "cpu"


def test_hypersphere_gives_the_same_numbers_for_a_sample_already_on_the_device():
    x = _x(tokens=256, dim=16)
    a = hypersphere.compute(x, "rmsnorm")
    b = hypersphere.compute(x.to(device.device()), "rmsnorm")
    np.testing.assert_array_equal(a.after, b.after)
    assert a.radius_hist.mean == b.radius_hist.mean


# --- CUDA against the CPU (runs only on a machine with CUDA) ---------------------------------------------

# float32 on two devices: different reduction orders, so agreement to float32 rounding of values ~1 (2e-4
# absolute leaves room for sums over a few thousand values); float64 results agree far closer
TOL = 2e-4

COMPARE = {
    "hypersphere.compute": lambda r: (np.abs(r.after), r.radius_hist.mean, r.kept_after),
    "groups.group_view": lambda r: (r.energy_gn, r.input_rms, r.ln_max_diff),
    "instance.instance_view": lambda r: (np.abs(r.after), r.max_abs_mean, r.neighbour_shift),
    "batch.spread_sweep": lambda r: (r.series["BatchNorm: probe's spread"],),
    "batch_stats.stats_error": lambda r: (r.mean_error, r.var_error),
    "batch_running.running_stats": lambda r: (r.running_mean, r.eval_output, r.gap),
    "coupling.coupling": lambda r: (r.tokens, r.features),
    "coupling.motion": lambda r: (r.moved,),
    "gradient_flow.run": lambda r: (r[0].grad_norms, r[0].hidden_norms, r[1].last_grad),
    "attention.saturation": lambda r: (r["entropy"], r["entropy_ln"]),
    "real_data.real_view": lambda r: (np.abs(r.after), r.kept_after),
    "real_data.layer_stats": lambda r: (r.angle_median, r.share_median),
}


def _flat(values) -> np.ndarray:
    return np.concatenate([np.asarray(v, dtype=np.float64).ravel() for v in values])


@pytest.mark.skipif(not CUDA, reason="no CUDA device here: the CUDA-against-CPU comparison runs on a GPU machine")
@pytest.mark.parametrize("name", list(COMPARE))
def test_cuda_agrees_with_cpu(name):
    with device.forced("cpu"):
        cpu = _flat(COMPARE[name](ON_DEVICE[name]()))
    with device.forced("cuda"):
        gpu = _flat(COMPARE[name](ON_DEVICE[name]()))
    scale = max(1.0, float(np.abs(cpu).max()))
    assert np.abs(gpu - cpu).max() <= TOL * scale, f"{name}: max |cuda - cpu| = {np.abs(gpu - cpu).max():.3g}"


@pytest.mark.skipif(not CUDA, reason="no CUDA device here: the CUDA-against-CPU comparison runs on a GPU machine")
def test_cuda_hypersphere_radius_is_sqrt_d():
    with device.forced("cuda"):
        v = hypersphere.compute(inputs.sample("heavy_tailed", batch=1, tokens=4096, dim=64, seed=0), "layernorm")
    assert v.radius_hist.mean == pytest.approx(math.sqrt(64), rel=1e-5)
