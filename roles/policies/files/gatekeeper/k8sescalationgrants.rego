# In the listed namespaces, a container, init or ephemeral container adds only the capabilities granted
# to its name, and allows privilege escalation (set, or unset: Kubernetes allows it then) only when its
# name has a grant.
package k8sescalationgrants

violation contains {"msg": msg} if {
	judged
	some field in ["containers", "initContainers", "ephemeralContainers"]
	some container in object.get(input.review.object.spec, field, [])
	some capability in object.get(container, ["securityContext", "capabilities", "add"], [])
	not capability in object.get(input.parameters.grants, container.name, [])
	msg := sprintf("%s %q adds the capability %s, which is not granted to it", [field, container.name, capability])
}

violation contains {"msg": msg} if {
	judged
	some field in ["containers", "initContainers", "ephemeralContainers"]
	some container in object.get(input.review.object.spec, field, [])
	not input.parameters.grants[container.name]
	object.get(container, ["securityContext", "allowPrivilegeEscalation"], true) != false
	msg := sprintf("%s %q does not set allowPrivilegeEscalation: false", [field, container.name])
}

judged if input.review.object.metadata.namespace in input.parameters.namespaces
