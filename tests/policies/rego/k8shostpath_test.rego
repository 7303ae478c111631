package k8shostpath_test

import rego.v1

import data.k8shostpath

pod(volumes) := {"review": {"object": {"spec": {"containers": [{"name": "app"}], "volumes": volumes}}}, "parameters": {}}

test_no_volume_allowed if {
	count(k8shostpath.violation) == 0 with input as {"review": {"object": {"spec": {"containers": [{"name": "app"}]}}}}
}

test_other_volumes_allowed if {
	count(k8shostpath.violation) == 0 with input as pod([{"name": "tmp", "emptyDir": {}}, {"name": "cfg", "configMap": {"name": "cfg"}}])
}

test_host_path_refused if {
	some v in k8shostpath.violation with input as pod([{"name": "root", "hostPath": {"path": "/"}}])
	v.msg == `volume "root" mounts the host path "/"`
}
