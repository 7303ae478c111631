# Every container and init container requests and limits each resource of parameters.resources.
# Ephemeral containers cannot declare resources (the API refuses them), so they are not checked.
package k8scontainerresources

violation contains {"msg": msg} if {
	some field in ["containers", "initContainers"]
	some container in object.get(input.review.object.spec, field, [])
	some kind in ["requests", "limits"]
	some resource in input.parameters.resources
	not declares(container, kind, resource)
	msg := sprintf("%s %q has no %s.%s", [field, container.name, kind, resource])
}

declares(container, kind, resource) if container.resources[kind][resource]
