# The object carries every label of parameters.labels with a non-empty value.
package k8srequiredlabels

violation contains {"msg": msg} if {
	some label in input.parameters.labels
	object.get(object.get(input.review.object.metadata, "labels", {}), label, "") == ""
	msg := sprintf("the label %q is missing or empty", [label])
}
