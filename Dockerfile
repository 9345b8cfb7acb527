# hubbub's container image. Build: `make image` (podman or docker), or
#   docker build -t hubbub .
# Run: `docker compose up -d` (compose.yaml), or
#   docker run -d -p 127.0.0.1:8081:8081 -v hubbub-data:/data hubbub
# Configured only by HUBBUB_* environment variables (README, *Configuration*); state lives
# in the /data volume (the SQLite database).

# Any Debian-based image with Python 3.11+ (and `python3 -m venv`) will do.
ARG BASE_IMAGE=python:3.12-slim

# -- 1: a wheelhouse: hubbub's wheel and the wheels of everything it depends on -----------
FROM ${BASE_IMAGE} AS wheelhouse
# Wheels in deploy/wheelhouse/ are used before PyPI's; --build-arg WHEELS_ONLY=1 uses only
# them, for a build that cannot reach a package index.
ARG WHEELS_ONLY=
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY deploy/wheelhouse/ /prebuilt/
COPY pyproject.toml README.md LICENSE ./
COPY src/ src/
RUN python3 -m venv /tmp/build \
 && /tmp/build/bin/pip wheel --quiet ${WHEELS_ONLY:+--no-index} --find-links /prebuilt \
      --wheel-dir /wheels .

# -- 2: the runtime: installs from the wheelhouse only, no network --------------------------
FROM ${BASE_IMAGE}
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PIP_NO_INDEX=1 \
    PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
# Copied, not mounted (`RUN --mount=from=wheelhouse` would spare the image the wheels' ~18 MB
# layer, but podman 4.3 / buildah 1.28, Debian 12's, cannot mount a stage with layer caching on).
COPY --from=wheelhouse /wheels /tmp/wheels
RUN python3 -m venv /opt/hubbub \
 && /opt/hubbub/bin/pip install --quiet --no-index --find-links /tmp/wheels hubbub \
 && rm -rf /tmp/wheels \
 && groupadd --system --gid 10001 hubbub \
 && useradd --system --uid 10001 --gid hubbub --home-dir /data --no-create-home \
      --shell /usr/sbin/nologin hubbub \
 && mkdir -p /data /files \
 && chown hubbub:hubbub /data /files

# Listen on every interface of the container; the database in the volume.
ENV PATH=/opt/hubbub/bin:$PATH \
    HUBBUB_HOST=0.0.0.0 \
    HUBBUB_PORT=8081 \
    HUBBUB_DATABASE_URL=sqlite:////data/hubbub.db
VOLUME ["/data"]
WORKDIR /data
EXPOSE 8081
USER 10001:10001

# /healthz on the port and scheme the server uses (HUBBUB_PORT, HUBBUB_TLS_CERT).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python3", "-c", "import os, ssl, urllib.request as u; tls = bool(os.environ.get('HUBBUB_TLS_CERT')); u.urlopen(('https' if tls else 'http') + '://127.0.0.1:' + os.environ.get('HUBBUB_PORT', '8081') + '/healthz', timeout=4, context=ssl._create_unverified_context() if tls else None)"]

# hubbub is PID 1 (exec form, no shell), so `docker stop`'s SIGTERM reaches it: open
# requests get HUBBUB_GRACEFUL_SHUTDOWN_SECONDS (2 s), streams are closed, the SQLite WAL is
# checkpointed, and the process exits 0, well within docker's 10 s before SIGKILL.
STOPSIGNAL SIGTERM
ENTRYPOINT ["hubbub"]
CMD ["serve"]
