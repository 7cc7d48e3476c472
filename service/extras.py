"""The optional `build` extra, and the one sentence said when something needs it but it is absent.

Serving needs onnxruntime and `tokenizers` only (each index carries its own ONNX export of the
model), so the Docker image and a serving-only install leave torch out; building an index and
the reference encoder (ROLEQA_ENCODER=torch) need the extra.
"""

from __future__ import annotations

import importlib.util

from service.encoder import MODEL_PACKAGE

INSTALL = "pip install 'roleqa[build]'"
# The top-level modules of the build extra (transformers comes with sentence-transformers).
BUILD_MODULES = ("torch", "transformers", "sentence_transformers", "onnx", MODEL_PACKAGE)


class ExtraMissing(RuntimeError):
    """Something was asked for that needs the `build` extra; the message is one sentence."""


def require_build_extra(what: str) -> None:
    """Raise ExtraMissing if a module of the build extra is absent: found, not imported, so
    the check costs nothing and `what` fails before it starts any work."""
    missing = [name for name in BUILD_MODULES if not _installed(name)]
    if missing:
        raise ExtraMissing(
            f"{what} needs the build extra, which is not installed (no {', '.join(missing)}): "
            f"{INSTALL}"
        )


def _installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ImportError:  # a finder that refuses the module outright
        return False
