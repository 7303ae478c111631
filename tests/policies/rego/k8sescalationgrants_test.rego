package k8sescalationgrants_test

import rego.v1

import data.k8sescalationgrants

parameters := {"namespaces": ["cicd-runners"], "grants": {"buildkitd": ["SETUID", "SETGID"]}}

closed := {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}

pod(namespace, spec) := {"review": {"object": {"metadata": {"namespace": namespace}, "spec": spec}}, "parameters": parameters}

buildkitd(context) := {"name": "buildkitd", "securityContext": context}

test_closed_container_allowed if {
	count(k8sescalationgrants.violation) == 0 with input as pod("cicd-runners", {"containers": [{"name": "runner", "securityContext": closed}]})
}

test_granted_capabilities_and_escalation_allowed if {
	granted := {"allowPrivilegeEscalation": true, "capabilities": {"drop": ["ALL"], "add": ["SETUID", "SETGID"]}}
	count(k8sescalationgrants.violation) == 0 with input as pod("cicd-runners", {"containers": [buildkitd(granted)]})
}

test_capability_beyond_the_grant_refused if {
	context := {"allowPrivilegeEscalation": true, "capabilities": {"add": ["SETUID", "SYS_ADMIN"]}}
	violations := k8sescalationgrants.violation with input as pod("cicd-runners", {"containers": [buildkitd(context)]})
	violations == {{"msg": `containers "buildkitd" adds the capability SYS_ADMIN, which is not granted to it`}}
}

test_capability_of_a_container_without_grant_refused if {
	context := object.union(closed, {"capabilities": {"add": ["NET_BIND_SERVICE"]}})
	violations := k8sescalationgrants.violation with input as pod("cicd-runners", {"initContainers": [{"name": "init", "securityContext": context}]})
	violations == {{"msg": `initContainers "init" adds the capability NET_BIND_SERVICE, which is not granted to it`}}
}

test_escalation_without_grant_refused if {
	violations := k8sescalationgrants.violation with input as pod("cicd-runners", {"containers": [{"name": "runner", "securityContext": {"allowPrivilegeEscalation": true}}]})
	violations == {{"msg": `containers "runner" does not set allowPrivilegeEscalation: false`}}
}

test_unset_escalation_without_grant_refused if {
	count(k8sescalationgrants.violation) == 1 with input as pod("cicd-runners", {"ephemeralContainers": [{"name": "debug"}]})
}

test_other_namespaces_not_judged if {
	context := {"allowPrivilegeEscalation": true, "capabilities": {"add": ["SYS_ADMIN"]}}
	count(k8sescalationgrants.violation) == 0 with input as pod("cicd-registry", {"containers": [{"name": "app", "securityContext": context}]})
}
