package k8snoprivileged_test

import rego.v1

import data.k8snoprivileged

pod(spec) := {"review": {"object": {"spec": spec}}, "parameters": {}}

test_plain_container_allowed if {
	count(k8snoprivileged.violation) == 0 with input as pod({"containers": [{"name": "app"}]})
}

test_privileged_false_allowed if {
	count(k8snoprivileged.violation) == 0 with input as pod({"containers": [{"name": "app", "securityContext": {"privileged": false}}]})
}

test_privileged_container_refused if {
	some v in k8snoprivileged.violation with input as pod({"containers": [{"name": "app", "securityContext": {"privileged": true}}]})
	v.msg == `containers "app" is privileged`
}

test_privileged_init_container_refused if {
	count(k8snoprivileged.violation) == 1 with input as pod({
		"containers": [{"name": "app"}],
		"initContainers": [{"name": "sysctl", "securityContext": {"privileged": true}}],
	})
}

test_privileged_ephemeral_container_refused if {
	count(k8snoprivileged.violation) == 1 with input as pod({
		"containers": [{"name": "app"}],
		"ephemeralContainers": [{"name": "debug", "securityContext": {"privileged": true}}],
	})
}
