package k8shostports_test

import rego.v1

import data.k8shostports

pod(spec) := {"review": {"object": {"spec": spec}}, "parameters": {}}

test_container_port_allowed if {
	count(k8shostports.violation) == 0 with input as pod({"containers": [{"name": "app", "ports": [{"containerPort": 8080}]}]})
}

test_host_port_zero_allowed if {
	count(k8shostports.violation) == 0 with input as pod({"containers": [{"name": "app", "ports": [{"containerPort": 8080, "hostPort": 0}]}]})
}

test_host_port_refused if {
	some v in k8shostports.violation with input as pod({"containers": [{"name": "app", "ports": [{"containerPort": 8080, "hostPort": 80}]}]})
	v.msg == `containers "app" binds host port 80`
}

test_host_port_of_init_container_refused if {
	count(k8shostports.violation) == 1 with input as pod({
		"containers": [{"name": "app"}],
		"initContainers": [{"name": "init", "ports": [{"containerPort": 53, "hostPort": 53, "protocol": "UDP"}]}],
	})
}
