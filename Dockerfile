# GroundGame: multi-stage build (PWA, then Python). Runs migrations, then uvicorn, as a non-root user.
# Needs an external PostGIS and Redis: DATABASE_URL (the app role), MIGRATION_DATABASE_URL (the table owner),
# REDIS_URL. See README.md.

FROM node:20-bookworm-slim AS pwa
WORKDIR /src/pwa
COPY pwa/package.json pwa/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY pwa/ ./
RUN npm run build

FROM python:3.11-slim-bookworm AS app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    PWA_DIST=/app/pwa/dist DATA_DIR=/var/lib/groundgame ENVIRONMENT=production
RUN apt-get update && apt-get install -y --no-install-recommends libgeos-c1v5 fonts-dejavu-core && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home /app groundgame && mkdir -p /var/lib/groundgame \
    && chown groundgame /var/lib/groundgame
WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY app/ app/
COPY migrations/ migrations/
RUN pip install -e .
COPY --from=pwa /src/pwa/dist /app/pwa/dist
USER groundgame
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"
# The worker runs from the same image: `docker run … groundgame worker`.
CMD ["sh", "-c", "groundgame migrate && exec uvicorn app.main:create_app --factory --host 0.0.0.0 --port 8000 --workers ${WEB_WORKERS:-2} --proxy-headers --timeout-keep-alive 30"]
