# The bot in a container. Never built on the development machines (they have no container
# runtime), so it stays plain: the same install and run commands as the README.
#   docker build -t esim-bot . && docker run -e TELEGRAM_BOT_TOKEN=... -v esim-data:/app/data esim-bot
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    HTTP_HOST=0.0.0.0 \
    HTTP_PORT=8080 \
    DATABASE_PATH=/app/data/bot.sqlite3 \
    PATH=/app/.venv/bin:$PATH

WORKDIR /app
RUN useradd --system --uid 10001 --home-dir /app bot

# The locked dependencies first, so code changes do not reinstall them.
COPY requirements.lock ./
RUN python3 -m venv .venv && pip install --require-hashes -r requirements.lock

COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY storage ./storage
RUN pip install --no-deps . && mkdir -p /app/data && chown bot:bot /app/data

USER bot
VOLUME ["/app/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)"]
# SIGTERM lets work in flight finish; give it the time (compose: stop_grace_period).
CMD ["python", "-m", "bot"]
