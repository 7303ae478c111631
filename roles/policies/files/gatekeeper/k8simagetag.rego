# Every image is pinned: by a sha256 digest, or by a tag that is not in disallowedTags (latest).
# An image without tag and digest is refused too; a port in the registry host is not a tag.
package k8simagetag

violation contains {"msg": msg} if {
	some field in ["containers", "initContainers", "ephemeralContainers"]
	some container in object.get(input.review.object.spec, field, [])
	some problem in problems(container.image)
	msg := sprintf("%s %q: image %q %s", [field, container.name, container.image, problem])
}

problems(image) := {"has a malformed digest (expected @sha256:<64 hex digits>)"} if {
	contains(image, "@")
	not regex.match(`@sha256:[a-f0-9]{64}$`, image)
}

problems(image) := {"has neither a tag nor a digest"} if {
	not contains(image, "@")
	not tag(image)
}

problems(image) := {sprintf("uses the disallowed tag %q", [t])} if {
	not contains(image, "@")
	t := tag(image)
	t in object.get(input.parameters, "disallowedTags", ["latest"])
}

# The tag is what follows ":" in the last path segment (a registry port lives in the first).
tag(image) := t if {
	segments := split(image, "/")
	last := segments[count(segments) - 1]
	contains(last, ":")
	t := split(last, ":")[1]
}
