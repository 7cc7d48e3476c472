"""Export the packaged sentence-transformers model to an int8 ONNX encoder, locally.

The build runs this once per index version, so that serving needs onnxruntime and `tokenizers`
alone: no torch to import (cold start, memory) and a fraction of torch's time per text.
Nothing is downloaded: the transformer inside the packaged model is traced by torch's legacy
exporter, its layers are fused by onnxruntime's BERT optimiser, and its weights are quantised
to int8 per channel by onnxruntime.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

from service.encoder import ENCODER_CONFIG, MODEL_ID, ONNX_MODEL, TOKENIZER, default_model_path

OPSET = 17
# Raised whenever the exported graph changes, so that `roleqa build --if-stale` exports again.
EXPORT_FORMAT = 2
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
QUANTIZATION = "int8 weights per channel, activations dynamic"


def export_onnx(dest: Path, model_path: Path | None = None) -> Path:
    """Write `model.onnx`, `tokenizer.json` and `encoder.json` into `dest`; return `dest`."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from onnxruntime.transformers.optimizer import optimize_model
    from sentence_transformers import SentenceTransformer

    path = model_path or default_model_path()
    model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
    transformer: Any = model[0].auto_model  # a transformers BertModel
    transformer.eval()
    config = transformer.config
    dim = model.get_embedding_dimension()
    if dim is None:
        raise RuntimeError(f"the model at {path} does not say its embedding dimension")
    # Plain attention rather than torch's fused kernel: its graph is the one onnxruntime's BERT
    # optimiser recognises, which takes ~480 nodes down to ~50. For a short question, running
    # the nodes costs more than the arithmetic inside them.
    transformer.set_attn_implementation("eager")

    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="roleqa-export-") as tmp:
        traced, fused = Path(tmp) / "traced.onnx", Path(tmp) / "fused.onnx"
        _trace(transformer, model.tokenizer, traced)
        optimize_model(
            str(traced),
            model_type="bert",
            num_heads=int(config.num_attention_heads),
            hidden_size=int(config.hidden_size),
            opt_level=0,  # fusions only: the file stays portable across CPUs
            optimization_options=_fusions(),
        ).save_model_to_file(str(fused))
        _quantize(fused, dest / ONNX_MODEL)

    max_tokens = int(model.max_seq_length or config.max_position_embeddings)
    _save_tokenizer(path / TOKENIZER, dest / TOKENIZER, max_tokens)
    record = {
        "model_id": MODEL_ID,
        "dim": int(dim),
        "max_tokens": max_tokens,
        "pooling": "mean",
        "normalize": True,
        "quantization": QUANTIZATION,
        "opset": OPSET,
        "format": EXPORT_FORMAT,
    }
    (dest / ENCODER_CONFIG).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return dest


def _fusions() -> Any:
    """The BERT fusions, but for the two whose onnxruntime CPU kernels are slower than what
    they replace on a question's dozen tokens (1.31, measured here at 13 tokens):
    SkipLayerNormalization 36 us against 15 us for Add + Add + LayerNormalization, BiasGelu
    30 us against 18 us for Add + Gelu. Without them a question encodes ~18% faster, with the
    same vectors to within rounding (cosine to torch: mean 0.9935, lowest 0.9890, as before).
    """
    from onnxruntime.transformers.fusion_options import FusionOptions

    options = FusionOptions("bert")
    options.enable_skip_layer_norm = False
    options.enable_bias_skip_layer_norm = False
    options.enable_bias_gelu = False
    return options


def _trace(transformer: Any, tokenizer: Any, out: Path) -> None:
    """The transformer's token states as an ONNX graph; pooling is left to the encoder."""
    import torch

    class Hidden(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, *inputs: torch.Tensor) -> Any:
            return self.transformer(**dict(zip(INPUTS, inputs, strict=True))).last_hidden_state

    sample = tokenizer(["an example question", "and a longer one, to trace"], padding=True)
    args = tuple(torch.tensor(sample[name], dtype=torch.int64) for name in INPUTS)
    axes = {name: {0: "batch", 1: "tokens"} for name in (*INPUTS, "last_hidden_state")}
    # The tracer warns about shape checks it turns into constants; none depends on the input's
    # shape here (the parity test encodes texts of every length with the result).
    with torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Hidden(),
            args,
            str(out),
            input_names=list(INPUTS),
            output_names=["last_hidden_state"],
            dynamic_axes=axes,
            opset_version=OPSET,
            dynamo=False,
        )


def _quantize(model: Path, out: Path) -> None:
    """int8 weights, a quarter of the bytes: for a short text, reading the weights is most of
    the time a run takes."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    handlers, level = list(logging.root.handlers), logging.root.level
    # Its advice to "pre-process" first does not apply: shape inference cannot see into the fused
    # operators. It logs through the root logger, which installs a handler on the way that would
    # then print every library's debug lines: both are put back as they were.
    logging.root.setLevel(logging.ERROR)
    try:
        quantize_dynamic(
            model,
            out,
            per_channel=True,
            weight_type=QuantType.QInt8,
            # The fused operators are onnxruntime's own, which ONNX shape inference cannot
            # type; their outputs are float32.
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
    finally:
        logging.root.handlers[:] = handlers
        logging.root.setLevel(level)


def _save_tokenizer(source: Path, out: Path, max_tokens: int) -> None:
    """The packaged tokenizer.json pads and truncates to 128; sentence-transformers truncates at
    the model's max_seq_length instead and pads to the longest text. Save it set up the same."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(source))
    padding = tokenizer.padding or {}
    tokenizer.enable_truncation(max_length=max_tokens)
    tokenizer.enable_padding(
        pad_id=int(padding.get("pad_id", 0)), pad_token=str(padding.get("pad_token", "[PAD]"))
    )
    tokenizer.save(str(out))
