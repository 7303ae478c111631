package k8simagetag_test

import rego.v1

import data.k8simagetag

digest := "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

pod(image) := {"review": {"object": {"spec": {"containers": [{"name": "app", "image": image}]}}}, "parameters": {"disallowedTags": ["latest"]}}

test_tagged_image_allowed if {
	count(k8simagetag.violation) == 0 with input as pod("harbor.homelab.internal/a/app:1.2.3")
}

test_digest_allowed if {
	count(k8simagetag.violation) == 0 with input as pod(concat("@", ["harbor.homelab.internal/a/app", digest]))
}

test_latest_with_digest_allowed_the_digest_pins_it if {
	count(k8simagetag.violation) == 0 with input as pod(concat("@", ["harbor.homelab.internal/a/app:latest", digest]))
}

test_latest_refused if {
	some v in k8simagetag.violation with input as pod("harbor.homelab.internal/a/app:latest")
	contains(v.msg, `disallowed tag "latest"`)
}

test_untagged_refused if {
	some v in k8simagetag.violation with input as pod("harbor.homelab.internal/a/app")
	contains(v.msg, "neither a tag nor a digest")
}

test_registry_port_is_not_a_tag if {
	some v in k8simagetag.violation with input as pod("harbor.homelab.internal:8443/a/app")
	contains(v.msg, "neither a tag nor a digest")
}

test_registry_port_and_tag_allowed if {
	count(k8simagetag.violation) == 0 with input as pod("harbor.homelab.internal:8443/a/app:2.0")
}

test_malformed_digest_refused if {
	some v in k8simagetag.violation with input as pod("harbor.homelab.internal/a/app@sha256:abc")
	contains(v.msg, "malformed digest")
}

test_default_disallowed_tag_is_latest if {
	count(k8simagetag.violation) == 1 with input as {"review": {"object": {"spec": {"containers": [{"name": "app", "image": "a/b:latest"}]}}}, "parameters": {}}
}

test_init_and_ephemeral_checked if {
	count(k8simagetag.violation) == 2 with input as {
		"review": {"object": {"spec": {
			"containers": [{"name": "app", "image": "a/b:1"}],
			"initContainers": [{"name": "init", "image": "a/b"}],
			"ephemeralContainers": [{"name": "debug", "image": "a/b:latest"}],
		}}},
		"parameters": {"disallowedTags": ["latest"]},
	}
}
