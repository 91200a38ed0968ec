def test_seed_example(make, service):
    app = make.app(roles={"admin": ["users.read", "users.write"], "viewer": ["users.read"]})
    email = make.user()
    make.grant(app, email, "admin")
    make.grant(app, email, "viewer")
    key = make.key(app)["key"]
    with service.anonymous() as client:
        response = client.get(f"/api/v1/authz/{email}", params={"app": app}, headers={"X-API-Key": key})
    assert response.status_code == 200, response.text
    assert response.json() == {
        "email": email, "app": app, "found": True, "active": True,
        "roles": ["admin", "viewer"], "permissions": ["users.read", "users.write"],
    }
