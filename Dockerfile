# normviz in a container: README.md's install command, then `streamlit run app.py` listening on the network.
# tests/test_deploy.py checks that the RUN and CMD lines below are README.md's install and run commands.
#
# CPU torch (the default, the small download):
#   docker build -t normviz .
#   docker run --rm -p 8501:8501 normviz                       # then open http://localhost:8501
# CUDA torch: point pip at a CUDA index of pytorch.org that holds torch 2.13.0 (cu128 here; the pin stays):
#   docker build --build-arg TORCH_INDEX=https://download.pytorch.org/whl/cu128 -t normviz:cuda .
#   docker run --rm --gpus all -p 8501:8501 normviz:cuda     # the sidebar: "Computing on: GPU · … (CUDA)"
# Behind a load balancer give each replica a name the sidebar shows ("What runs where"):
#   docker run -e NORMVIZ_REPLICA=web1 ...                    (README.md, section Deploy)
FROM python:3.11-slim

# Where pip finds torch 2.13.0: the CPU wheels by default, a CUDA index with --build-arg TORCH_INDEX=...
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
ENV PIP_EXTRA_INDEX_URL=${TORCH_INDEX} \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1

WORKDIR /app
# The dependencies first (a layer that survives code changes), then the app itself.
COPY requirements.txt ./
RUN python3 -m venv .venv && . .venv/bin/activate && pip install torch==2.13.0 -r requirements.txt
COPY . .
ENV PATH=/app/.venv/bin:$PATH

# The app never writes into /app (tests/browser/test_startup.py): it runs as an unprivileged user.
RUN useradd --create-home --uid 10001 normviz
USER normviz

EXPOSE 8501
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s \
    CMD python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=2)"
CMD ["streamlit", "run", "app.py", "--server.address", "0.0.0.0", "--server.port", "8501", "--server.headless", "true"]
