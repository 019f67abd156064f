FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    SECURITY_MATERIAL_VAR_DIR=/app/var STATIC_ROOT=/app/staticfiles
WORKDIR /app

COPY pyproject.toml README.md ./
COPY config config
COPY securitymaterial securitymaterial
COPY oauthflows oauthflows
RUN pip install --editable .
COPY . .

# Throw-away key and secret for collectstatic only: the image never holds real ones.
RUN SECURITY_MATERIAL_KEYS=$(python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())") \
    DJANGO_SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput --verbosity 0 \
 && useradd --system --uid 10001 --home /app app \
 && mkdir -p /app/var /app/metrics && chown app /app/var /app/metrics && rm -f /app/var/*

USER app
EXPOSE 8000
# Liveness only: /readyz (database, broker, keys) is for load balancers and compose.
HEALTHCHECK --interval=30s --timeout=5s CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://localhost:8000/healthz', timeout=3)"]
CMD ["gunicorn", "config.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--config", "python:config.gunicorn"]
