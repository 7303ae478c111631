"""The stand-in's spec checks catch what Harbor's spec forbids, and it answers like Harbor."""

import base64
import json
import urllib.error
import urllib.request
from urllib.parse import quote, urlencode

import harbor_swagger

AUTH = "Basic " + base64.b64encode(b"admin:Harbor12345").decode()


def call(harbor, method, path, body=None, content_type="application/json"):
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    request = urllib.request.Request(harbor.url + "/api/v2.0" + path, data=data, method=method)
    request.add_header("Authorization", AUTH)
    if data is not None and content_type:
        request.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def take_violations(harbor):
    found = list(harbor.violations)
    harbor.violations.clear()
    return found


def test_metadata_must_be_strings_and_binding_errors_are_422(harbor):
    status = call(harbor, "POST", "/projects", {"project_name": "a", "metadata": {"auto_scan": True}})[0]
    assert status == 422
    assert any("createProject body" in v and "at /metadata/auto_scan" in v for v in take_violations(harbor))


def test_unknown_body_fields_are_violations(harbor):
    status = call(harbor, "POST", "/projects", {"project_name": "a", "auto_scan": "true"})[0]
    assert status == 422
    assert any("Additional properties are not allowed ('auto_scan'" in v for v in take_violations(harbor))


def test_missing_content_type_is_422(harbor):
    status = call(harbor, "POST", "/projects", {"project_name": "a"}, content_type=None)[0]
    assert status == 422
    take_violations(harbor)


def test_undeclared_query_parameter_and_unknown_path_are_violations(harbor):
    assert call(harbor, "GET", "/projects?nam=x")[0] == 200
    assert call(harbor, "GET", "/projects/a/robots")[0] == 404
    found = take_violations(harbor)
    assert any("query parameter 'nam' is not declared" in v for v in found)
    assert any("no such operation" in v for v in found)


def test_page_size_above_harbor_maximum_is_a_violation(harbor):
    call(harbor, "GET", "/projects?page_size=500")
    assert any("500 is greater than the maximum of 100" in v for v in take_violations(harbor))


def test_response_checks_catch_invented_fields_and_undocumented_statuses():
    spec = harbor_swagger.load()
    operation = spec.find("GET", "/projects/x")[0]
    good = {"project_id": 1, "name": "x", "metadata": {"public": "false"}}
    assert harbor_swagger.check_response(operation, 200, {}, good) == []
    assert harbor_swagger.check_response(operation, 200, {}, dict(good, storage_limit=5))
    assert harbor_swagger.check_response(operation, 200, {}, dict(good, metadata={"public": False}))
    assert harbor_swagger.check_response(operation, 409, {}, {"errors": []}) == [
        "getProject: status 409 is not documented"
    ]
    # middleware answers are allowed everywhere but must carry Harbor's error body
    assert harbor_swagger.check_response(operation, 422, {}, {"errors": [{"code": "x", "message": "y"}]}) == []
    assert harbor_swagger.check_response(operation, 422, {}, {"errors": "y"})


def test_missing_project_is_404_and_metadata_put_on_missing_key_changes_nothing(harbor):
    assert call(harbor, "GET", "/projects/nope")[0] == 404
    assert call(harbor, "POST", "/projects", {"project_name": "a"})[0] == 201
    assert call(harbor, "PUT", "/projects/1/metadatas/auto_scan", {"auto_scan": "true"})[0] == 200
    assert "auto_scan" not in harbor.state.projects[1]["metadata"]
    assert call(harbor, "POST", "/projects/1/metadatas/", {"auto_scan": "true"})[0] == 200
    assert harbor.state.projects[1]["metadata"]["auto_scan"] == "true"


def test_name_filter_matches_substrings_and_put_ignores_storage_limit(harbor):
    for name in ("apps", "apps-old"):
        call(harbor, "POST", "/projects", {"project_name": name, "storage_limit": 10})
    _status, body = call(harbor, "GET", "/projects?name=apps")
    assert sorted(p["name"] for p in json.loads(body)) == ["apps", "apps-old"]
    call(harbor, "PUT", "/projects/1", {"storage_limit": 99})
    assert harbor.state.quotas[1]["hard"] == {"storage": 10}


def test_robot_query_is_decoded_twice(harbor):
    call(harbor, "POST", "/projects", {"project_name": "apps"})
    access = [{"resource": "repository", "action": "pull"}]
    permissions = [{"kind": "project", "namespace": "apps", "access": access}]
    robot = {"name": "ci", "level": "project", "duration": 1, "permissions": permissions}
    assert call(harbor, "POST", "/robots", robot)[0] == 201

    def names(query):
        return [r["name"] for r in json.loads(call(harbor, "GET", "/robots?" + query)[1])]

    assert names("") == []  # without Level=project only system robots are listed
    assert names(urlencode({"q": "Level=project,ProjectID=1,name=apps+ci"})) == []  # "+" became a space
    right = urlencode({"q": "Level=project,ProjectID=1,name=" + quote("apps+ci", safe="")})
    assert "%252B" in right
    assert names(right) == ["robot$apps+ci"]
