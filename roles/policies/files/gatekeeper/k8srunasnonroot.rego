# Every container, init and ephemeral container runs as non-root: runAsNonRoot true (its own, or the
# pod's when it sets none) and no runAsUser 0 (its own, or the pod's when it sets none).
package k8srunasnonroot

violation contains {"msg": msg} if {
	some field in ["containers", "initContainers", "ephemeralContainers"]
	some container in object.get(input.review.object.spec, field, [])
	effective(container, "runAsNonRoot", false) != true
	msg := sprintf("%s %q does not set runAsNonRoot: true (nor does the pod)", [field, container.name])
}

violation contains {"msg": msg} if {
	some field in ["containers", "initContainers", "ephemeralContainers"]
	some container in object.get(input.review.object.spec, field, [])
	effective(container, "runAsUser", null) == 0
	msg := sprintf("%s %q runs as user 0", [field, container.name])
}

effective(container, key, fallback) := value if {
	value := container.securityContext[key]
} else := object.get(input.review.object.spec, ["securityContext", key], fallback)
