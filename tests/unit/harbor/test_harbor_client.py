"""HarborClient against the stand-in over loopback HTTP: retries, errors, TLS, encodings."""

import http.server
import socket
import ssl
import subprocess
import threading

import pytest
from ansible_collections.homelab.k8s.plugins.module_utils import harbor as harbor_utils
from ansible_collections.homelab.k8s.plugins.module_utils.harbor import HarborApiError, HarborClient
from harbor_standin import HarborStandIn


def client(url, password="Harbor12345", sleeps=None, **extra):
    params = dict(url=url, username="admin", password=password, validate_certs=True, ca_path=None, timeout=5, retries=3)
    params.update(extra)
    return HarborClient(params, sleep=(sleeps.append if sleeps is not None else lambda s: None))


def create(api, name):
    api.request("POST", "/projects", body={"project_name": name, "metadata": {"public": "false"}})


def test_5xx_on_a_read_is_retried_with_growing_backoff(harbor):
    harbor.fail("GET", "^/projects/x$", 503, times=3)
    sleeps = []
    api = client(harbor.url, sleeps=sleeps)
    assert api.get_project("x") is None
    assert sleeps == [1, 2, 4]
    assert [r[2] for r in harbor.requests] == [503, 503, 503, 404]


def test_retries_are_bounded_and_the_error_names_the_attempts(harbor):
    harbor.fail("GET", "^/projects/x$", 502, times=10)
    with pytest.raises(HarborApiError, match=r"HTTP 502 to GET /projects/x after 3 attempt\(s\)") as err:
        client(harbor.url, retries=2).get_project("x")
    assert err.value.status == 502
    assert len(harbor.requests) == 3


def test_a_post_is_not_repeated_after_a_5xx(harbor):
    harbor.fail("POST", "^/projects$", 500)
    with pytest.raises(HarborApiError, match="HTTP 500"):
        create(client(harbor.url), "x")
    assert len(harbor.requests) == 1


def test_timeout_on_a_read_is_retried(harbor):
    harbor.fail("GET", "^/projects/x$", "timeout")
    sleeps = []
    assert client(harbor.url, sleeps=sleeps, timeout=1).get_project("x") is None
    assert sleeps == [1]


def test_wrong_password_says_what_to_check(harbor):
    with pytest.raises(HarborApiError, match="rejected the credentials of user 'admin' \\(HTTP 401\\)") as err:
        client(harbor.url, password="wrong").get_project("x")
    assert "wrong" not in str(err.value)
    assert err.value.status == 401
    assert len(harbor.requests) == 1  # a 401 is not retried


@pytest.mark.parametrize(
    ("status", "method", "path", "text"),
    [
        (403, "PUT", "/quotas/1", "needs Harbor's system administrator role"),
        (404, "PUT", "/quotas/1", "check that url points at Harbor"),
        (409, "POST", "/projects", "conflicts with an existing object"),
        (412, "DELETE", "/projects/1", "precondition failed"),
        (422, "PUT", "/quotas/1", "could not bind the request body"),
    ],
)
def test_error_messages_name_what_to_check(harbor, status, method, path, text):
    harbor.fail(method, "^%s$" % path, status)
    body = {"project_name": "x"} if method == "POST" else {"hard": {"storage": 1}} if method == "PUT" else None
    with pytest.raises(HarborApiError, match=text) as err:
        client(harbor.url).request(method, path, body=body)
    assert "injected failure" in str(err.value)  # Harbor's own message is passed on
    assert err.value.status == status


def test_connection_refused_is_retried_then_explained():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    sleeps = []
    with pytest.raises(HarborApiError, match="cannot reach Harbor at http://127.0.0.1:%d after 3 attempt" % port):
        client("http://127.0.0.1:%d" % port, sleeps=sleeps, retries=2).get_project("x")
    assert sleeps == [1, 2]


def test_tls_failure_points_at_ca_path(tmp_path):
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    openssl = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=harbor.invalid"]
    subprocess.run(
        [*openssl, "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    server = http.server.HTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.handle_request, daemon=True)
    thread.start()
    try:
        with pytest.raises(HarborApiError, match=r"TLS verification of https://127\.0\.0\.1:.* Set ca_path"):
            client("https://127.0.0.1:%d" % server.server_address[1]).get_project("x")
    finally:
        server.server_close()


def test_url_with_api_suffix_and_zero_timeout_are_refused():
    with pytest.raises(HarborApiError, match=r"without /api/v2\.0"):
        client("https://harbor.example.com/api/v2.0")
    with pytest.raises(HarborApiError, match="timeout must be a positive number of seconds, got 0"):
        client("https://harbor.example.com", timeout=0)


def test_get_project_compares_names_exactly(harbor):
    api = client(harbor.url)
    create(api, "applications-old")
    assert api.get_project("applications") is None
    create(api, "applications")
    assert api.get_project("applications")["name"] == "applications"


def test_legacy_harbor_403_for_a_missing_project_reads_as_missing():
    with HarborStandIn(legacy_403=True) as legacy:
        api = client(legacy.url)
        assert api.get_project("absent") is None
        assert [r[2] for r in legacy.requests] == [403, 200]
        assert legacy.violations == []


ROBOT = {
    "name": "ci",
    "level": "project",
    "duration": 30,
    "permissions": [{"kind": "project", "namespace": "apps", "access": [{"resource": "repository", "action": "pull"}]}],
}


def test_project_robot_lookup_sends_plus_as_percent_252B(harbor):
    api = client(harbor.url)
    create(api, "apps")
    api.request("POST", "/robots", body=ROBOT)
    api.request("POST", "/robots", body=dict(ROBOT, name="ci2"))
    robot = api.find_project_robot(1, "apps+ci")
    assert robot["name"] == "robot$apps+ci"
    assert "%252B" in harbor.requests[-1][1]
    assert api.find_project_robot(1, "apps+other") is None


def test_robot_without_duration_is_refused_like_harbor(harbor):
    api = client(harbor.url)
    create(api, "apps")
    body = {k: v for k, v in ROBOT.items() if k != "duration"}
    with pytest.raises(HarborApiError, match=r"HTTP 400.*duration is required"):
        api.request("POST", "/robots", body=body)


def test_list_all_follows_pages(harbor, monkeypatch):
    monkeypatch.setattr(harbor_utils, "PAGE_SIZE", 2)
    api = client(harbor.url)
    for i in range(5):
        create(api, "p%d" % i)
    harbor.reset_log()
    assert len(api.list_all("/projects")) == 5
    assert [r[1].split("?")[1] for r in harbor.requests] == ["page=%d&page_size=2" % p for p in (1, 2, 3)]
