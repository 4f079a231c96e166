# The IdP image (also runs the demo relying party): docs/deployment.md.
# Build stage: wheels of idp and its dependencies (pyscard compiles against PC/SC).
FROM python:3.11-slim-bookworm AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential swig libpcsclite-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md ./
COPY idp ./idp
COPY relying_party_demo ./relying_party_demo
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

# Runtime stage: no compiler, an unprivileged user, settings from the environment.
FROM python:3.11-slim-bookworm
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpcsclite1 \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/* && rm -rf /wheels
RUN useradd --system --uid 10001 --home-dir /var/lib/idp --create-home idp
WORKDIR /srv/idp
COPY deploy/gunicorn.conf.py deploy/demo_rp.py ./deploy/
USER idp
# Production refuses development defaults; compose.yaml (or the operator) sets the rest.
ENV IDP_ENV=production \
    IDP_DATA_DIR=/var/lib/idp \
    IDP_KEYS_DIR=/var/lib/idp/keys \
    GUNICORN_BIND=0.0.0.0:8000 \
    PYTHONUNBUFFERED=1
EXPOSE 8000
CMD ["gunicorn", "-c", "deploy/gunicorn.conf.py", "idp.wsgi:app"]
