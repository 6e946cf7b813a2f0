# streamal: slim Python, built wheels only in the final image, non-root, health-checked.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY streamal ./streamal
# with the fast extra: STREAMAL_KAFKA_CLIENT=confluent needs no other image (librdkafka comes in its wheel)
RUN pip wheel --no-cache-dir --wheel-dir /wheels '.[fast]'

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    STREAMAL_STATE_DIR=/var/lib/streamal STREAMAL_HTTP_PORT=8000
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels \
    && useradd --system --uid 10001 --home-dir /var/lib/streamal --create-home streamal \
    && mkdir -p /demo && chown streamal /demo
USER streamal
WORKDIR /var/lib/streamal
VOLUME ["/var/lib/streamal"]
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ.get('STREAMAL_HTTP_PORT', '8000')}/healthz\", timeout=2)"]
ENTRYPOINT ["streamal"]
CMD ["run"]
