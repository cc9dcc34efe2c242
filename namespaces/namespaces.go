package namespaces

import (
	"fmt"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Recorder receives one record per kernel step; hull's --debug narrates these.
type Recorder interface {
	Step(op, args string, err error, took time.Duration)
}

// flagOf maps each OCI namespace type to its clone flag.
var flagOf = map[specs.LinuxNamespaceType]uintptr{
	specs.PIDNamespace:     unix.CLONE_NEWPID,
	specs.MountNamespace:   unix.CLONE_NEWNS,
	specs.UTSNamespace:     unix.CLONE_NEWUTS,
	specs.IPCNamespace:     unix.CLONE_NEWIPC,
	specs.NetworkNamespace: unix.CLONE_NEWNET,
	specs.UserNamespace:    unix.CLONE_NEWUSER,
	specs.CgroupNamespace:  unix.CLONE_NEWCGROUP,
	specs.TimeNamespace:    unix.CLONE_NEWTIME,
}

// procName is the file name of each type under /proc/<pid>/ns.
var procName = map[specs.LinuxNamespaceType]string{
	specs.PIDNamespace:     "pid",
	specs.MountNamespace:   "mnt",
	specs.UTSNamespace:     "uts",
	specs.IPCNamespace:     "ipc",
	specs.NetworkNamespace: "net",
	specs.UserNamespace:    "user",
	specs.CgroupNamespace:  "cgroup",
	specs.TimeNamespace:    "time",
}

// Validate rejects unknown types and types listed twice, as the spec requires:
// "Duplicated namespaces with the same type are not allowed" (config-linux.md).
func Validate(nss []specs.LinuxNamespace) error {
	seen := map[specs.LinuxNamespaceType]bool{}
	for _, ns := range nss {
		if _, ok := flagOf[ns.Type]; !ok {
			return fmt.Errorf("namespace type %q is not known", ns.Type)
		}
		if seen[ns.Type] {
			return fmt.Errorf("namespace type %q is listed more than once", ns.Type)
		}
		seen[ns.Type] = true
	}
	return nil
}

// CloneFlags returns the clone flags of the namespaces to create (entries without a path).
func CloneFlags(nss []specs.LinuxNamespace) uintptr {
	var flags uintptr
	for _, ns := range nss {
		if ns.Path == "" {
			flags |= flagOf[ns.Type]
		}
	}
	return flags
}

// Has reports whether the spec gives the container its own (new or joined) namespace of type t.
func Has(nss []specs.LinuxNamespace, t specs.LinuxNamespaceType) bool {
	for _, ns := range nss {
		if ns.Type == t {
			return true
		}
	}
	return false
}

// IsNew reports whether the spec asks for a new namespace of type t.
func IsNew(nss []specs.LinuxNamespace, t specs.LinuxNamespaceType) bool {
	for _, ns := range nss {
		if ns.Type == t && ns.Path == "" {
			return true
		}
	}
	return false
}

// ToJoin returns the entries that name an existing namespace which one thread of a Go program
// can join (all but user and time: ToJoinAlone), in an order the kernel accepts: everything
// else before mount, because after joining a mount namespace the other paths may no longer
// resolve as the caller meant them.
func ToJoin(nss []specs.LinuxNamespace) []specs.LinuxNamespace {
	var out, mnt []specs.LinuxNamespace
	for _, ns := range nss {
		switch {
		case ns.Path == "" || alone(ns.Type):
		case ns.Type == specs.MountNamespace:
			mnt = append(mnt, ns)
		default:
			out = append(out, ns)
		}
	}
	return append(out, mnt...)
}

// ToJoinAlone returns the entries naming an existing user or time namespace, which only a
// single-threaded process can join, user first: joining it gives the capabilities that the
// time namespace's owner may ask for.
func ToJoinAlone(nss []specs.LinuxNamespace) []specs.LinuxNamespace {
	var out []specs.LinuxNamespace
	for _, t := range []specs.LinuxNamespaceType{specs.UserNamespace, specs.TimeNamespace} {
		for _, ns := range nss {
			if ns.Type == t && ns.Path != "" {
				out = append(out, ns)
			}
		}
	}
	return out
}

func alone(t specs.LinuxNamespaceType) bool {
	return t == specs.UserNamespace || t == specs.TimeNamespace
}
