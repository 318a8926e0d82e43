# Production image: gunicorn's asyncio ASGI worker serving Django + whitenoise (slow clients hold no thread:
# config/gunicorn.conf.py). From the same image:
#   release:  python manage.py migrate --noinput
#   workers:  python manage.py worker --queue-name default --interval 1   (the Procfile's; several on PostgreSQL)
#   listener: python manage.py listen_notifications --refresh 30
# compose.yaml beside this file runs the whole stack (web, 2 workers, listener, PostgreSQL, MinIO).
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PACKSHOT_VAR_DIR=/var/lib/packshot \
    STATIC_ROOT=/app/staticfiles \
    HOST=0.0.0.0 \
    PORT=8000

# libgl/glib are not needed by opencv-python-headless; libgomp is needed by onnxruntime.
RUN apt-get update && apt-get install -y --no-install-recommends libgomp1 && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 packshot \
    && mkdir -p /var/lib/packshot && chown packshot /var/lib/packshot

WORKDIR /app
COPY pyproject.toml ./
RUN pip install --upgrade pip && pip install .
COPY --chown=packshot . .

# collectstatic needs a SECRET_KEY only to import settings; the real one comes from the environment at run time.
RUN SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput -v0

USER packshot
EXPOSE 8000
VOLUME ["/var/lib/packshot"]
# Migrations are a release step, run once per deploy (not by every web replica):
#   docker run --rm ... packshot-studio python manage.py migrate --noinput
# The same command as the Procfile's web process (bind address from HOST/PORT above).
CMD ["gunicorn", "-c", "config/gunicorn.conf.py", "config.server:application"]
