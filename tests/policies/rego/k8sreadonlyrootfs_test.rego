package k8sreadonlyrootfs_test

import rego.v1

import data.k8sreadonlyrootfs

ro := {"readOnlyRootFilesystem": true}

pod(spec) := {"review": {"object": {"spec": spec}}, "parameters": {}}

test_read_only_allowed if {
	count(k8sreadonlyrootfs.violation) == 0 with input as pod({"containers": [{"name": "app", "securityContext": ro}]})
}

test_unset_refused if {
	some v in k8sreadonlyrootfs.violation with input as pod({"containers": [{"name": "app"}]})
	v.msg == `containers "app" does not set securityContext.readOnlyRootFilesystem: true`
}

test_false_refused if {
	count(k8sreadonlyrootfs.violation) == 1 with input as pod({"containers": [{"name": "app", "securityContext": {"readOnlyRootFilesystem": false}}]})
}

test_init_and_ephemeral_checked if {
	count(k8sreadonlyrootfs.violation) == 2 with input as pod({
		"containers": [{"name": "app", "securityContext": ro}],
		"initContainers": [{"name": "init"}],
		"ephemeralContainers": [{"name": "debug", "securityContext": {}}],
	})
}
