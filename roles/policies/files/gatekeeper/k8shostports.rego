# No container port bound on the host.
package k8shostports

violation contains {"msg": msg} if {
	some field in ["containers", "initContainers", "ephemeralContainers"]
	some container in object.get(input.review.object.spec, field, [])
	some port in object.get(container, "ports", [])
	object.get(port, "hostPort", 0) != 0
	msg := sprintf("%s %q binds host port %v", [field, container.name, port.hostPort])
}
