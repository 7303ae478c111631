package k8scontainerresources_test

import rego.v1

import data.k8scontainerresources

full := {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": "500m", "memory": "128Mi"}}

pod(spec) := {"review": {"object": {"spec": spec}}, "parameters": {"resources": ["cpu", "memory"]}}

test_full_resources_allowed if {
	count(k8scontainerresources.violation) == 0 with input as pod({"containers": [{"name": "app", "resources": full}]})
}

test_missing_limits_refused if {
	count(k8scontainerresources.violation) == 2 with input as pod({"containers": [{"name": "app", "resources": {"requests": full.requests}}]})
}

test_missing_memory_request_named if {
	some v in k8scontainerresources.violation with input as pod({"containers": [{"name": "app", "resources": {"requests": {"cpu": "1"}, "limits": full.limits}}]})
	v.msg == `containers "app" has no requests.memory`
}

test_no_resources_refused if {
	count(k8scontainerresources.violation) == 4 with input as pod({"containers": [{"name": "app"}]})
}

test_init_container_checked if {
	count(k8scontainerresources.violation) == 4 with input as pod({
		"containers": [{"name": "app", "resources": full}],
		"initContainers": [{"name": "init"}],
	})
}

test_ephemeral_container_not_checked if {
	count(k8scontainerresources.violation) == 0 with input as pod({
		"containers": [{"name": "app", "resources": full}],
		"ephemeralContainers": [{"name": "debug"}],
	})
}
