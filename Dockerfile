# The campus security gateway as a service image: `docker compose up` (docker-compose.yml)
# mounts the site configuration at /etc/campus/site.yaml.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
# Only what the package needs (no .venv, tests or local data in the image).
COPY pyproject.toml ./
COPY gateway/ gateway/
COPY drivers/ drivers/
COPY simulators/ simulators/
# tzdata: the IANA zones for zoneinfo even if the base image lacks /usr/share/zoneinfo.
RUN pip install . tzdata && rm -rf /src/build

# Run unprivileged; /var/lib/campus-gateway is where a SQLite database would live.
RUN useradd --system --create-home --home-dir /var/lib/campus-gateway --shell /usr/sbin/nologin campus
USER campus
WORKDIR /var/lib/campus-gateway

EXPOSE 8080
# Ready = database, broker and police links up (GET /readyz answers 2xx).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request, sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/readyz', timeout=4).status < 300 else 1)"]

CMD ["campus-gateway", "run", "--config", "/etc/campus/site.yaml"]
