package k8srunasnonroot_test

import rego.v1

import data.k8srunasnonroot

pod(spec) := {"review": {"object": {"spec": spec}}, "parameters": {}}

test_container_non_root_allowed if {
	count(k8srunasnonroot.violation) == 0 with input as pod({"containers": [{"name": "app", "securityContext": {"runAsNonRoot": true}}]})
}

test_pod_level_non_root_allowed if {
	count(k8srunasnonroot.violation) == 0 with input as pod({"securityContext": {"runAsNonRoot": true, "runAsUser": 1000}, "containers": [{"name": "app"}]})
}

test_container_overrides_pod if {
	some v in k8srunasnonroot.violation with input as pod({
		"securityContext": {"runAsNonRoot": true},
		"containers": [{"name": "app", "securityContext": {"runAsNonRoot": false}}],
	})
	v.msg == `containers "app" does not set runAsNonRoot: true (nor does the pod)`
}

test_unset_refused if {
	count(k8srunasnonroot.violation) == 1 with input as pod({"containers": [{"name": "app"}]})
}

test_user_zero_refused_even_with_non_root if {
	some v in k8srunasnonroot.violation with input as pod({"containers": [{"name": "app", "securityContext": {"runAsNonRoot": true, "runAsUser": 0}}]})
	v.msg == `containers "app" runs as user 0`
}

test_pod_user_zero_refused if {
	count(k8srunasnonroot.violation) == 1 with input as pod({"securityContext": {"runAsNonRoot": true, "runAsUser": 0}, "containers": [{"name": "app"}]})
}

test_container_user_overrides_pod_user_zero if {
	count(k8srunasnonroot.violation) == 0 with input as pod({
		"securityContext": {"runAsNonRoot": true, "runAsUser": 0},
		"containers": [{"name": "app", "securityContext": {"runAsUser": 1000}}],
	})
}

test_init_and_ephemeral_checked if {
	count(k8srunasnonroot.violation) == 2 with input as pod({
		"containers": [{"name": "app", "securityContext": {"runAsNonRoot": true}}],
		"initContainers": [{"name": "init"}],
		"ephemeralContainers": [{"name": "debug", "securityContext": {"runAsUser": 0, "runAsNonRoot": true}}],
	})
}
