# Every container, init and ephemeral container runs with a read-only root filesystem.
package k8sreadonlyrootfs

violation contains {"msg": msg} if {
	some field in ["containers", "initContainers", "ephemeralContainers"]
	some container in object.get(input.review.object.spec, field, [])
	object.get(container, ["securityContext", "readOnlyRootFilesystem"], false) != true
	msg := sprintf("%s %q does not set securityContext.readOnlyRootFilesystem: true", [field, container.name])
}
