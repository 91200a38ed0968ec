"""Prometheus metrics (process-wide, like the default registry they live in)."""

from prometheus_client import Counter, Gauge, Histogram

REQUESTS = Counter("pepyhat_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "pepyhat_http_request_duration_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
AUTHZ_DECISIONS = Counter("pepyhat_authz_decisions_total", "Data-plane decisions by outcome", ["outcome"])
LIMITER_BACKEND = Gauge(
    "pepyhat_ratelimit_backend", "Where this process counts rate limits: 1 for the backend in use", ["backend"]
)
LIMITER_FALLBACKS = Counter(
    "pepyhat_ratelimit_fallbacks_total", "Times Redis became unreachable and rate limits fell back to this process"
)


def limiter_backend(active: str) -> None:
    for backend in ("redis", "memory"):
        LIMITER_BACKEND.labels(backend).set(1 if backend == active else 0)
