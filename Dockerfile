# The bot for a real VK community: mount config.toml (and give the token as SFERUM_VK_TOKEN).
#   docker build -t sferum-bot .
#   docker run -v $PWD/config.toml:/app/config.toml -v sferum-data:/app/data \
#              -e SFERUM_VK_TOKEN=... sferum-bot
FROM python:3.11-slim

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY core ./core
COPY handlers ./handlers
COPY storage ./storage
COPY content ./content
RUN pip install --no-cache-dir . && useradd --create-home sferum && mkdir -p /app/data \
    && chown sferum /app/data
USER sferum
VOLUME ["/app/data"]
CMD ["sferum-bot", "run", "--config", "/app/config.toml"]
