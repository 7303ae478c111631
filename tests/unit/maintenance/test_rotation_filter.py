"""encryption_providers(rotate=true): the first step of the encryption key rotation."""

from ansible_collections.homelab.k8s.plugins.filter.kubernetes import encryption_providers

SECRETBOX = {"secretbox": {"keys": [{"name": "homelab-1", "secret": "b2xk"}]}}


def config(*providers):
    return {"kind": "EncryptionConfiguration", "resources": [{"resources": ["secrets"], "providers": list(providers)}]}


def test_rotation_puts_a_new_key_of_the_same_provider_first():
    existing = config(SECRETBOX, {"identity": {}})
    assert encryption_providers(existing, "secretbox", "bmV3", rotate=True) == [
        {"secretbox": {"keys": [{"name": "homelab-2", "secret": "bmV3"}]}},
        SECRETBOX,
    ]
    # without rotate the key is kept, as the kubernetes role's re-runs need
    assert encryption_providers(existing, "secretbox", "bmV3") == [SECRETBOX]


def test_rotation_needs_a_key():
    assert encryption_providers(config(SECRETBOX), "secretbox", rotate=True) is None


def test_a_second_rotation_names_a_third_key():
    once = encryption_providers(config(SECRETBOX), "secretbox", "bmV3", rotate=True)
    twice = encryption_providers(config(*once[:1]), "secretbox", "dGhy", rotate=True)
    assert [p["secretbox"]["keys"][0]["name"] for p in twice] == ["homelab-3", "homelab-2"]
