# Images only from the listed registries (the Harbor host): the image reference must start with
# "<registry>/", so a host that only starts with the registry's name (harbor.example.evil) is refused.
package k8sharborimages

violation contains {"msg": msg} if {
	some field in ["containers", "initContainers", "ephemeralContainers"]
	some container in object.get(input.review.object.spec, field, [])
	not from_allowed_registry(container.image)
	msg := sprintf("%s %q: image %q is not from %v", [field, container.name, container.image, input.parameters.registries])
}

from_allowed_registry(image) if {
	some registry in input.parameters.registries
	startswith(lower(image), concat("", [lower(trim_suffix(registry, "/")), "/"]))
}
