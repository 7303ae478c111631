# No hostPath volume.
package k8shostpath

violation contains {"msg": msg} if {
	some volume in object.get(input.review.object.spec, "volumes", [])
	volume.hostPath
	msg := sprintf("volume %q mounts the host path %q", [volume.name, volume.hostPath.path])
}
