package k8sharborimages_test

import rego.v1

import data.k8sharborimages

params := {"registries": ["harbor.homelab.internal"]}

pod(spec) := {"review": {"object": {"kind": "Pod", "spec": spec}}, "parameters": params}

test_harbor_image_allowed if {
	count(k8sharborimages.violation) == 0 with input as pod({"containers": [{"name": "app", "image": "harbor.homelab.internal/applications/app:1.0"}]})
}

test_harbor_image_by_digest_allowed if {
	image := "harbor.homelab.internal/applications/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	count(k8sharborimages.violation) == 0 with input as pod({"containers": [{"name": "app", "image": image}]})
}

test_registry_given_with_trailing_slash if {
	count(k8sharborimages.violation) == 0 with input as {
		"review": {"object": {"spec": {"containers": [{"name": "app", "image": "harbor.homelab.internal/a/b:1"}]}}},
		"parameters": {"registries": ["harbor.homelab.internal/"]},
	}
}

test_upper_case_host_is_the_same_host if {
	count(k8sharborimages.violation) == 0 with input as pod({"containers": [{"name": "app", "image": "HARBOR.homelab.internal/a/b:1"}]})
}

test_docker_hub_refused if {
	some v in k8sharborimages.violation with input as pod({"containers": [{"name": "app", "image": "nginx:1.27"}]})
	contains(v.msg, `"nginx:1.27"`)
}

test_host_that_only_starts_with_harbor_refused if {
	count(k8sharborimages.violation) == 1 with input as pod({"containers": [{"name": "app", "image": "harbor.homelab.internal.evil.example/applications/app:1.0"}]})
}

test_host_with_other_port_refused if {
	count(k8sharborimages.violation) == 1 with input as pod({"containers": [{"name": "app", "image": "harbor.homelab.internal:5000/applications/app:1.0"}]})
}

test_harbor_as_path_refused if {
	count(k8sharborimages.violation) == 1 with input as pod({"containers": [{"name": "app", "image": "evil.example/harbor.homelab.internal/app:1.0"}]})
}

test_init_container_checked if {
	some v in k8sharborimages.violation with input as pod({
		"containers": [{"name": "app", "image": "harbor.homelab.internal/a/app:1"}],
		"initContainers": [{"name": "setup", "image": "busybox:1.36"}],
	})
	startswith(v.msg, `initContainers "setup"`)
}

test_ephemeral_container_checked if {
	some v in k8sharborimages.violation with input as pod({
		"containers": [{"name": "app", "image": "harbor.homelab.internal/a/app:1"}],
		"ephemeralContainers": [{"name": "debug", "image": "ghcr.io/nicolaka/netshoot:v0.13"}],
	})
	startswith(v.msg, `ephemeralContainers "debug"`)
}

test_every_bad_container_reported if {
	count(k8sharborimages.violation) == 3 with input as pod({
		"containers": [{"name": "a", "image": "nginx:1"}, {"name": "b", "image": "quay.io/x/y:1"}],
		"initContainers": [{"name": "c", "image": "busybox:1"}],
	})
}
