# No sharing of the host's network, PID or IPC namespace.
package k8shostnamespaces

violation contains {"msg": msg} if {
	some field in ["hostNetwork", "hostPID", "hostIPC"]
	object.get(input.review.object.spec, field, false) == true
	msg := sprintf("the pod sets %s: it shares a namespace with the host", [field])
}
