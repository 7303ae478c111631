package k8srequiredlabels_test

import rego.v1

import data.k8srequiredlabels

pod(labels) := {
	"review": {"object": {"metadata": {"name": "app", "labels": labels}, "spec": {}}},
	"parameters": {"labels": ["app.kubernetes.io/name", "owner"]},
}

test_all_labels_allowed if {
	count(k8srequiredlabels.violation) == 0 with input as pod({"app.kubernetes.io/name": "app", "owner": "ci"})
}

test_missing_owner_refused if {
	some v in k8srequiredlabels.violation with input as pod({"app.kubernetes.io/name": "app"})
	v.msg == `the label "owner" is missing or empty`
}

test_empty_value_refused if {
	count(k8srequiredlabels.violation) == 1 with input as pod({"app.kubernetes.io/name": "", "owner": "ci"})
}

test_no_labels_at_all_refused if {
	count(k8srequiredlabels.violation) == 2 with input as {
		"review": {"object": {"metadata": {"name": "app"}, "spec": {}}},
		"parameters": {"labels": ["app.kubernetes.io/name", "owner"]},
	}
}
