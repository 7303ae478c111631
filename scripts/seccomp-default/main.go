// Command seccomp-default prints containerd's RuntimeDefault seccomp profile as JSON, the way the
// CRI plugin builds it for a container that drops every capability: contrib/seccomp's
// DefaultProfile for this build's architecture, on a kernel of 4.8 or newer.
//
// The module pins the containerd version of the container_runtime role, so the profile is the one
// the nodes apply; tests compare the collection's Localhost profiles with it.
package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/containerd/containerd/v2/contrib/seccomp"
	"github.com/opencontainers/runtime-spec/specs-go"
)

func main() {
	spec := &specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{}}}
	out, err := json.MarshalIndent(seccomp.DefaultProfile(spec), "", "  ")
	if err != nil {
		fmt.Fprintln(os.Stderr, "seccomp-default:", err)
		os.Exit(1)
	}
	fmt.Println(string(out))
}
