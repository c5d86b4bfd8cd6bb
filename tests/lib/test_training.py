"""The training library: bitwise determinism, the model against an independent plain implementation, the
instruments against their definitions, divergence, and bad settings."""

from __future__ import annotations

import math

import pytest
import torch

from normviz import norms, training
from normviz.experiments.training import data
from normviz.experiments.training.model import Norm
from tests.helpers.training_plain import plain_loss, plain_params

SMALL = {"depth": 2, "width": 16, "heads": 2, "batch_size": 4, "steps": 6}


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize("task", training.TASKS)
def test_same_settings_and_seed_give_the_same_curve_bitwise(task):
    a = training.run(task, **SMALL, norm="batchnorm", seed=3)
    b = training.run(task, **SMALL, norm="batchnorm", seed=3)
    assert len(a.train_loss) == 6 and a.eval_steps
    assert a.train_loss == b.train_loss and a.grad_norm == b.grad_norm and a.update_ratio == b.update_ratio
    assert a.eval_loss == b.eval_loss and a.resid_norm == b.resid_norm and a.eval_acc == b.eval_acc
    c = training.run(task, **SMALL, norm="batchnorm", seed=4)
    assert c.train_loss != a.train_loss  # the seed matters


def test_stepping_in_chunks_is_stepping_at_once():
    t = training.Trainer("chars", **SMALL)
    t.step(2)
    t.step(0)
    t.step(4)
    t.step(3)  # past `steps`: nothing more
    assert t.history.train_loss == training.run("chars", **SMALL).train_loss


@pytest.mark.parametrize(
    ("task", "norm", "placement", "optimizer", "warmup"),
    [("chars", "layernorm", "pre", "adamw", 0), ("chars", "rmsnorm", "post", "sgd", 0),
     ("chars", "dyt", "peri", "adamw", 3), ("digits", "batchnorm", "pre", "adamw", 2),
     ("digits", "groupnorm", "post", "sgd", 0), ("chars", "instancenorm", "pre", "adamw", 0)],
)  # fmt: skip
def test_the_instrumented_model_trains_like_a_plain_implementation(task, norm, placement, optimizer, warmup):
    kw = {**SMALL, "norm": norm, "placement": placement, "optimizer": optimizer, "warmup": warmup,
          "groups": 4 if norm == "groupnorm" else 1, "lr": 1e-2}  # fmt: skip
    t = training.Trainer(task, **kw)
    params = plain_params(t.model)  # the same initial weights, as plain leaf tensors, float64
    s = t.settings
    opt = (torch.optim.AdamW(params.values(), lr=s["lr"], weight_decay=0.01) if optimizer == "adamw"
           else torch.optim.SGD(params.values(), lr=s["lr"], momentum=0.9))  # fmt: skip
    batches = data.Batches(task, s["batch_size"], s["seed"])
    t.step(s["steps"])
    ours = t.history.train_loss
    plain = []
    for step in range(1, s["steps"] + 1):
        for g in opt.param_groups:
            g["lr"] = s["lr"] * (min(1.0, step / warmup) if warmup else 1.0)
        x, y = next(batches)
        loss = plain_loss(params, task, x, y, s)
        opt.zero_grad()
        loss.backward()
        opt.step()
        plain.append(float(loss.detach()))
    # float32 model against a float64 plain one: the losses agree to 1e-4 relative over 6 steps
    assert ours == pytest.approx(plain, rel=1e-4)


@pytest.mark.parametrize("name", norms.NORMS)
def test_each_norm_module_makes_the_registry_s_computation(name):
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(3, 5, 8, generator=gen)
    m = Norm(name, 8, groups=2)
    if name != "identity":
        with torch.no_grad():
            m.weight.copy_(torch.randn(8, generator=gen))
            m.bias.copy_(torch.randn(8, generator=gen))
    w = None if name == "identity" else m.weight.detach()
    b = None if name == "identity" else m.bias.detach()
    ref = norms.apply(name, x, groups=2, weight=w, bias=b)  # DyT: alpha 0.5, the module's initial alpha
    torch.testing.assert_close(m(x), ref, rtol=1e-5, atol=1e-5)


def test_gradient_and_update_ratio_are_their_definitions():
    kw = {**SMALL, "optimizer": "sgd", "lr": 0.05, "steps": 1}
    fresh = training.Trainer("chars", **kw)
    x, y = next(data.Batches("chars", 4, 0))
    loss = fresh.model.loss(fresh.model(x), y)
    loss.backward()
    t = training.Trainer("chars", **kw)
    t.step(1)
    r = t.history
    for layer, block in enumerate(fresh.model.blocks):
        g = math.sqrt(sum(float(p.grad.double().square().sum()) for p in block.parameters()))
        w = math.sqrt(sum(float(p.detach().double().square().sum()) for p in block.parameters()))
        assert r.grad_norm[0][layer] == pytest.approx(g, rel=1e-5)
        # SGD's first step with momentum is θ ← θ − lr·g: ‖Δθ‖ / ‖θ‖ = lr‖g‖ / ‖θ‖
        assert r.update_ratio[0][layer] == pytest.approx(0.05 * g / w, rel=1e-4)


def test_residual_norm_after_a_post_ln_block_is_root_d():
    r = training.run("chars", **{**SMALL, "placement": "post", "lr": 1e-9, "steps": 1})
    assert r.eval_steps == [1]
    d = SMALL["width"]
    assert r.resid_norm[0] == pytest.approx([math.sqrt(d)] * SMALL["depth"], rel=1e-3)


def test_digits_report_accuracy_and_batchnorm_its_two_held_out_losses():
    r = training.run("digits", **{**SMALL, "norm": "batchnorm"})
    assert len(r.eval_acc) == len(r.eval_loss) == len(r.eval_loss_batch_stats) == len(r.eval_steps)
    assert all(0 <= a <= 1 for a in r.eval_acc)
    assert r.eval_loss != r.eval_loss_batch_stats  # running statistics are not the batch's
    chars = training.run("chars", **SMALL)
    assert chars.eval_acc == [] and chars.eval_loss_batch_stats == []


def test_a_diverging_run_stops_and_says_where():
    t = training.Trainer("chars", **{**SMALL, "placement": "post", "norm": "identity", "optimizer": "sgd",
                                     "lr": 10.0, "steps": 50})  # fmt: skip
    t.step(50)
    r = t.history
    assert r.diverged_at is not None and r.diverged_at == len(r.train_loss) < 50
    last = r.train_loss[-1]
    assert not math.isfinite(last) or last > 2 * r.train_loss[0]
    assert all(math.isfinite(v) and v <= 2 * r.train_loss[0] for v in r.train_loss[:-1])
    t.step(5)
    assert len(t.history.train_loss) == r.diverged_at and t.finished


@pytest.mark.parametrize(("norm", "mode"), training.LEAK_CASES)
def test_the_causal_leak_is_there_exactly_for_norms_that_pool_over_tokens(norm, mode):
    leak = training.causal_leak(norm, mode=mode, groups=4)
    if norm == "instancenorm":
        assert leak.within > 1e-4 and leak.across == 0.0  # one sequence's tokens only
    elif norm == "batchnorm" and mode == "train":
        assert leak.within > 1e-4 and leak.across > 1e-4  # the whole batch
    else:
        assert leak.within == 0.0 and leak.across == 0.0  # bitwise: causal attention and a per-token map


def test_a_trained_batchnorm_model_leaks_in_train_mode_only():
    t = training.Trainer("chars", **{**SMALL, "norm": "batchnorm"})
    t.step(6)  # running statistics have moved off (0, 1)
    assert training.causal_leak("batchnorm", mode="eval", model=t.model).leaks is False
    assert training.causal_leak("batchnorm", mode="train", model=t.model).leaks
    assert t.history.train_loss == training.run("chars", **{**SMALL, "norm": "batchnorm"}).train_loss  # untouched


def test_links_hold_configurations_and_read_them_back():
    configs = [training.check("chars", norm="groupnorm", groups=8, lr=0.01), training.check("chars", warmup=50)]
    assert training.decode("chars", training.encode(configs)) == configs


@pytest.mark.parametrize(
    ("kw", "words"),
    [({"norm": "weightnorm"}, "Unknown norm"), ({"placement": "middle"}, "Unknown placement"),
     ({"depth": 0}, "depth must be"), ({"width": 30, "heads": 4}, "must divide width"),
     ({"norm": "groupnorm", "groups": 5}, "pick one of"), ({"lr": -1.0}, "lr must be"),
     ({"lr": float("nan")}, "lr must be"), ({"optimizer": "lion"}, "Unknown optimizer"),
     ({"steps": 2.5}, "steps must be"), ({"colour": 1}, "Unknown setting")],
)  # fmt: skip
def test_bad_settings_raise_value_errors_that_say_how_to_fix_them(kw, words):
    with pytest.raises(ValueError, match=words):
        training.Trainer("chars", **kw)


def test_a_run_too_big_for_its_memory_bound_is_refused_and_every_preset_fits():
    with pytest.raises(ValueError, match=r"about \d+ MB.*capped at 500 MB.*lower batch_size, width or depth"):
        training.check("chars", depth=24, width=256, heads=4, batch_size=256)  # ~10 GB of activations
    with pytest.raises(ValueError, match="capped at 500 MB"):
        training.check("digits", depth=24, width=256, heads=4, batch_size=64)
    training.check("chars", depth=24, width=64, heads=4, batch_size=8)  # deep but thin fits
    for preset in training.PRESETS.values():
        for c in preset.configs:
            training.check(preset.task, **c)  # the shipped presets are well inside the bound


@pytest.mark.parametrize("text", ["", "layernorm:pre", "a,b,c,d,e", "layernorm:pre:1:4:64:4:32:adamw:x:0:200:0"])
def test_bad_links_raise_value_errors(text):
    with pytest.raises(ValueError):
        training.decode("chars", text)
    with pytest.raises(ValueError, match="Unknown task"):
        training.Trainer("poetry")
