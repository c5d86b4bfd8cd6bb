"""Hook capture on the bundled MiniLM (post-LN BERT) and on a tiny random LLaMA (RMSNorm).

References are independent of the capture code: torch's F.layer_norm, transformers' own
``last_hidden_state`` from a plain forward call, and numpy float64 RMSNorm.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from normviz.io import capture

SENTENCES = ["The cat sat on the mat.", "Normalization layers rescale every token vector to one length, always!"]


@pytest.fixture(scope="module")
def minilm():
    return capture.load_model(capture.MINILM)


@pytest.fixture(scope="module")
def minilm_batch(minilm):
    _, tokenizer = minilm
    return dict(tokenizer(SENTENCES, padding=True, return_tensors="pt"))


@pytest.fixture(scope="module")
def minilm_capture(minilm, minilm_batch):
    model, _ = minilm
    return capture.capture(model, minilm_batch, outputs=True)


def test_minilm_has_13_layernorms_in_forward_order(minilm_capture):
    cap = minilm_capture
    assert len(cap) == 13
    assert cap.names[0] == "embeddings.LayerNorm"
    assert cap.names[1] == "encoder.layer.0.attention.output.LayerNorm"
    assert cap.names[-1] == "encoder.layer.5.output.LayerNorm"
    assert set(cap.kinds) == {"LayerNorm"}
    assert all(x.shape == (2, cap.mask.shape[1], 384) for x in cap.inputs)
    assert cap.eps == (1e-12,) * 13


def test_mask_is_the_tokenizers_attention_mask(minilm_capture, minilm_batch):
    mask = minilm_batch["attention_mask"].bool()
    assert torch.equal(minilm_capture.mask, mask)
    assert not mask.all(), "the two sentences differ in length, so one is padded"
    assert minilm_capture.real(3).shape == (int(mask.sum()), 384)


@pytest.mark.parametrize("k", range(13))
def test_own_layernorm_on_captured_input_reproduces_the_module_output(minilm_capture, k):
    cap = minilm_capture
    d = cap.inputs[k].shape[-1]
    y = F.layer_norm(cap.inputs[k], (d,), cap.weights[k], cap.biases[k], cap.eps[k])  # (B, T, d)
    torch.testing.assert_close(y, cap.outputs[k], rtol=1e-5, atol=1e-5)
    # and the gamma/beta really are the model's: not ones and zeros
    assert not torch.allclose(cap.weights[k], torch.ones(d))
    assert not torch.allclose(cap.biases[k], torch.zeros(d))


def test_last_capture_point_through_its_layernorm_is_last_hidden_state(minilm, minilm_batch, minilm_capture):
    model, _ = minilm
    with torch.inference_mode():
        ref = model(**minilm_batch).last_hidden_state  # a plain forward call, no hooks
    cap = minilm_capture
    k = len(cap) - 1
    y = F.layer_norm(cap.inputs[k], (384,), cap.weights[k], cap.biases[k], cap.eps[k])
    mask = cap.mask
    torch.testing.assert_close(y[mask], ref[mask], rtol=1e-5, atol=1e-5)


def test_hooks_are_removed_after_capture(minilm, minilm_batch, minilm_capture):
    model, _ = minilm
    for _, m in capture.norm_modules(model):
        assert not m._forward_pre_hooks and not m._forward_hooks


def test_capture_text_keeps_tokens_and_splits_sentences(minilm):
    model, tokenizer = minilm
    cap = capture.capture_text(model, tokenizer, capture.split_sentences("Hello world. A second one!"))
    assert cap.tokens[0][:3] == ("[CLS]", "hello", "world")
    assert [len(t) for t in cap.tokens] == cap.mask.sum(1).tolist()
    with pytest.raises(ValueError, match="Type some text"):
        capture.capture_text(model, tokenizer, ["  "])


def test_bad_model_source_says_what_to_do():
    with pytest.raises(ValueError, match="neither a local directory"):
        capture.load_model("not a model id!")
    with pytest.raises(ValueError, match="Could not load"):
        capture.load_model("normviz-no-such-org/no-such-model")  # HF_HUB_OFFLINE=1: never downloads


def test_model_without_norms_is_refused():
    with pytest.raises(ValueError, match="no norm modules"):
        capture.capture(nn.Linear(3, 3), {"input": torch.ones(1, 3)})


# --- a tiny LLaMA, random weights, no download ---------------------------------------------


@pytest.fixture(scope="module")
def llama():
    from transformers import LlamaConfig, LlamaModel

    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=64,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=64,
        rms_norm_eps=1e-6,
    )
    model = LlamaModel(config).eval()
    with torch.no_grad():  # random gammas, so applying them is tested (init is all ones)
        for _, m in capture.norm_modules(model):
            m.weight.uniform_(0.5, 2.0)
    ids = torch.randint(0, 64, (2, 7), generator=torch.Generator().manual_seed(1))
    mask = torch.ones(2, 7, dtype=torch.long)
    mask[1, 5:] = 0
    return model, {"input_ids": ids, "attention_mask": mask}


def test_llama_rmsnorm_capture(llama):
    model, batch = llama
    cap = capture.capture(model, batch, outputs=True)
    # input_layernorm and post_attention_layernorm per layer, then the final norm
    assert len(cap) == 5
    assert set(cap.kinds) == {"LlamaRMSNorm"}
    assert cap.names[-1] == "norm"
    assert all(b is None for b in cap.biases)
    assert cap.eps == (1e-6,) * 5
    for k in range(len(cap)):
        x = cap.inputs[k].double().numpy()
        w = cap.weights[k].double().numpy()
        ref = x / np.sqrt(np.mean(x**2, axis=-1, keepdims=True) + cap.eps[k]) * w  # numpy float64 RMSNorm
        np.testing.assert_allclose(cap.outputs[k].numpy(), ref, rtol=1e-5, atol=1e-5)
    with torch.inference_mode():
        last = model(**batch).last_hidden_state
    m = cap.mask
    np.testing.assert_allclose(cap.outputs[-1][m].numpy(), last[m].numpy(), rtol=1e-5, atol=1e-6)
    assert m.sum() == 12


def test_any_model_from_a_local_directory(llama, tmp_path):
    """The 'Another model' path: a directory holding a LLaMA-style model and its tokenizer, loaded by AutoModel."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    model, _ = llama
    model.save_pretrained(tmp_path)
    words = ["<unk>", "<s>", "</s>", *"the cat sat on a mat and every token vector is rescaled .".split()]
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", eos_token="</s>").save_pretrained(tmp_path)

    loaded, tokenizer = capture.load_model(str(tmp_path))
    assert tokenizer.pad_token == "</s>"  # none was set: the mask excludes padding anyway
    cap = capture.capture_text(loaded, tokenizer, ["the cat sat on a mat .", "every token vector is rescaled ."])
    assert len(cap) == 5 and set(cap.kinds) == {"LlamaRMSNorm"}
    assert cap.mask.sum(1).tolist() == [7, 6]
    with torch.inference_mode():
        ids = torch.tensor([[words.index(w) for w in "the cat sat on a mat .".split()]])
        ref = model(input_ids=ids).last_hidden_state[0]  # (7, d) the saved model, unpadded
    k = len(cap) - 1
    y = F.rms_norm(cap.inputs[k][0], (32,), cap.weights[k], cap.eps[k])
    torch.testing.assert_close(y, ref, rtol=1e-4, atol=1e-5)


def test_capture_refuses_to_hold_too_much(minilm, minilm_batch, monkeypatch):
    model, _ = minilm
    monkeypatch.setattr(capture, "MAX_VALUES", 10_000)
    with pytest.raises(ValueError, match="fewer tokens"):
        capture.capture(model, minilm_batch)
    assert all(not m._forward_pre_hooks for _, m in capture.norm_modules(model))  # hooks removed all the same


def test_eps_of_torch_rmsnorm_without_eps_is_the_float32_epsilon():
    cap = capture.capture(nn.Sequential(nn.Linear(3, 4), nn.RMSNorm(4)), {"input": torch.ones(1, 2, 3)})
    assert cap.eps == (torch.finfo(torch.float32).eps,)
    assert cap.kinds == ("RMSNorm",)
