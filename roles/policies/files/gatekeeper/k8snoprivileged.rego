# No privileged container, init or ephemeral container.
package k8snoprivileged

violation contains {"msg": msg} if {
	some field in ["containers", "initContainers", "ephemeralContainers"]
	some container in object.get(input.review.object.spec, field, [])
	object.get(container, ["securityContext", "privileged"], false) == true
	msg := sprintf("%s %q is privileged", [field, container.name])
}
