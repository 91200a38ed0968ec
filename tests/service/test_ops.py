"""Operations: liveness, readiness, Prometheus metrics and the JSON access log.

The service runs in this process, so the metrics registry is shared by both
backends' servers: every check compares counters before and after its own
requests rather than absolute values.
"""

from __future__ import annotations

import uuid

from prometheus_client.parser import text_string_to_metric_families

AUTHZ_ROUTE = "/api/v1/authz/{email}"


def scrape(service) -> dict[tuple[str, frozenset], float]:
    with service.anonymous() as client:
        response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def delta(before, after, name: str, **labels) -> float:
    key = (name, frozenset(labels.items()))
    return after.get(key, 0.0) - before.get(key, 0.0)


def test_healthz(service):
    with service.anonymous() as client:
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response.headers["x-request-id"]


def test_readyz(service):
    with service.anonymous() as client:
        response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "limiter": "memory"}  # Redis: tests/service/test_redis_outage.py


def test_metrics_count_requests_latency_and_decisions(service, make):
    app = make.app(roles={"viewer": ["users.read"]})
    email = make.user()
    make.grant(app, email, "viewer")
    key = make.key(app)["key"]
    other_app = make.app()
    before = scrape(service)

    with service.anonymous() as client:
        def authz(who: str, slug: str = app, **headers):
            return client.get(f"/api/v1/authz/{who}", params={"app": slug}, headers=headers)

        assert authz(email, **{"X-API-Key": key}).status_code == 200
        assert authz(email.upper(), **{"X-API-Key": key}).status_code == 200
        assert authz(f"nobody-{uuid.uuid4().hex[:6]}@example.com", **{"X-API-Key": key}).json()["found"] is False
        assert authz(email).status_code == 401
        assert authz(email, other_app, **{"X-API-Key": key}).status_code == 403
        assert client.get(f"/no/such/{uuid.uuid4().hex}").status_code == 404

    after = scrape(service)
    requests = "pepyhat_http_requests_total"
    assert delta(before, after, requests, method="GET", route=AUTHZ_ROUTE, status="200") == 3
    assert delta(before, after, requests, method="GET", route=AUTHZ_ROUTE, status="401") == 1
    assert delta(before, after, requests, method="GET", route=AUTHZ_ROUTE, status="403") == 1
    # Unknown paths share one label: a scanner cannot blow up the series count.
    assert delta(before, after, requests, method="GET", route="unmatched", status="404") == 1

    latency = "pepyhat_http_request_duration_seconds"
    assert delta(before, after, latency + "_count", method="GET", route=AUTHZ_ROUTE) == 5
    assert delta(before, after, latency + "_bucket", method="GET", route=AUTHZ_ROUTE, le="+Inf") == 5
    assert delta(before, after, latency + "_sum", method="GET", route=AUTHZ_ROUTE) > 0

    decisions = "pepyhat_authz_decisions_total"
    assert delta(before, after, decisions, outcome="allowed") == 2
    assert delta(before, after, decisions, outcome="unknown_user") == 1
    assert delta(before, after, decisions, outcome="missing_api_key") == 1
    assert delta(before, after, decisions, outcome="key_not_for_app") == 1

    # Route templates, never raw paths: no email or slug leaks into label values.
    labels = " ".join(v for (_, items) in after for _, v in items)
    assert email not in labels and app not in labels


def test_access_log_has_request_and_key_ids(service, make):
    app = make.app(roles={"viewer": ["users.read"]})
    email = make.user()
    created = make.key(app)
    data_plane_id, admin_id, anonymous_id = (f"ops-{uuid.uuid4().hex}" for _ in range(3))

    with service.anonymous() as client:
        response = client.get(
            f"/api/v1/authz/{email}", params={"app": app},
            headers={"X-API-Key": created["key"], "X-Request-ID": data_plane_id},
        )
        assert response.status_code == 200
        assert response.headers["x-request-id"] == data_plane_id
        assert client.get("/api/v1/apps", headers={"X-Request-ID": anonymous_id}).status_code == 401
        generated = client.get("/healthz").headers["x-request-id"]
    with service.client(**{"X-Request-ID": admin_id}) as admin:
        assert admin.get(f"/api/v1/apps/{app}").status_code == 200

    (entry,) = service.access_log(data_plane_id)
    assert entry["key_id"] == created["id"]
    assert (entry["method"], entry["route"], entry["status"]) == ("GET", AUTHZ_ROUTE, 200)
    assert entry["level"] == "info" and entry["time"] and isinstance(entry["duration_ms"], (int, float))

    (entry,) = service.access_log(admin_id)
    assert entry["key_id"] == service.superadmin_id
    assert (entry["route"], entry["status"]) == ("/api/v1/apps/{slug}", 200)

    (entry,) = service.access_log(anonymous_id)
    assert "key_id" not in entry and entry["status"] == 401

    (entry,) = service.access_log(generated)
    assert entry["route"] == "/healthz"
    # The key itself never reaches the log (conftest also checks the whole file at the end).
    assert created["key"] not in service.log_file.read_text()
