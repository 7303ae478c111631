package k8shostnamespaces_test

import rego.v1

import data.k8shostnamespaces

pod(spec) := {"review": {"object": {"spec": object.union({"containers": [{"name": "app"}]}, spec)}}, "parameters": {}}

test_no_host_namespace_allowed if {
	count(k8shostnamespaces.violation) == 0 with input as pod({})
}

test_explicit_false_allowed if {
	count(k8shostnamespaces.violation) == 0 with input as pod({"hostNetwork": false, "hostPID": false, "hostIPC": false})
}

test_host_network_refused if {
	some v in k8shostnamespaces.violation with input as pod({"hostNetwork": true})
	contains(v.msg, "hostNetwork")
}

test_each_host_namespace_reported if {
	count(k8shostnamespaces.violation) == 3 with input as pod({"hostNetwork": true, "hostPID": true, "hostIPC": true})
}
