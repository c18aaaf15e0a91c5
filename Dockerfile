# The bot for a real VK community: mount config.toml (and give the token as SFERUM_VK_TOKEN).
#   docker build -t sferum-bot .
#   docker run -v $PWD/config.toml:/app/config.toml -v sferum-data:/app/data \
#              -e SFERUM_VK_TOKEN=... sferum-bot
# Inside a container 127.0.0.1 is unreachable from outside, so the callback server and the
# health endpoint listen on every interface of the container (the environment variables below
# win over config.toml; -e SFERUM_CALLBACK_HOST=... changes it). With the Callback API publish
# its port: docker run -p 8080:8080 ... (and put https://<your server>/vk/callback into VK).
# The HEALTHCHECK asks /healthz: enable it in config.toml ([health] enabled = true; with the
# Callback API it is served on the callback port). Without it the check reports "healthy" by
# default, so the container is not restarted for a setting it never asked for.
FROM python:3.11-slim

WORKDIR /app

# Dependencies first, in their own layer: editing the bot's code does not reinstall them.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install --no-cache-dir -r /tmp/requirements.txt && rm /tmp/requirements.txt

COPY README.md LICENSE ./
COPY bot ./bot
COPY core ./core
COPY handlers ./handlers
COPY storage ./storage
COPY content ./content
RUN pip install --no-cache-dir --no-deps . && useradd --create-home sferum \
    && mkdir -p /app/data && chown sferum /app/data
USER sferum
VOLUME ["/app/data"]
ENV SFERUM_CALLBACK_HOST=0.0.0.0 SFERUM_HEALTH_HOST=0.0.0.0

# Reads the health port from the same config the bot uses (no curl in a slim image).
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 CMD \
    python -c "import sys,urllib.request;from bot.config import load_settings as L;from pathlib import Path;s=L(Path('/app/config.toml'));h=s.health;cb=s.vk.transport=='callback';c=s.callback;host=(c.host if cb else h.host).replace('0.0.0.0','127.0.0.1');port=c.port if cb else h.port;sys.exit(0) if not h.enabled else urllib.request.urlopen(f'http://{host}:{port}/healthz',timeout=4)"

CMD ["sferum-bot", "run", "--config", "/app/config.toml"]
