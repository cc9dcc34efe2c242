package namespaces

import (
	"fmt"
	"os"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// IDMappings converts the spec's mappings to the form syscall.SysProcAttr takes.
func IDMappings(m []specs.LinuxIDMapping) []syscall.SysProcIDMap {
	out := make([]syscall.SysProcIDMap, 0, len(m))
	for _, e := range m {
		out = append(out, syscall.SysProcIDMap{ContainerID: int(e.ContainerID), HostID: int(e.HostID), Size: int(e.Size)})
	}
	return out
}

// ValidateMappings checks the rules the spec states for user namespaces: mappings are required
// when a new user namespace is created, and meaningless otherwise.
func ValidateMappings(l *specs.Linux) error {
	newUser := IsNew(l.Namespaces, specs.UserNamespace)
	has := len(l.UIDMappings) > 0 || len(l.GIDMappings) > 0
	switch {
	case newUser && (len(l.UIDMappings) == 0 || len(l.GIDMappings) == 0):
		return fmt.Errorf("a new user namespace needs both uidMappings and gidMappings")
	case !Has(l.Namespaces, specs.UserNamespace) && has:
		return fmt.Errorf("uidMappings and gidMappings need a user namespace")
	}
	for _, m := range append(append([]specs.LinuxIDMapping{}, l.UIDMappings...), l.GIDMappings...) {
		if m.Size == 0 {
			return fmt.Errorf("id mapping %d→%d has size 0", m.ContainerID, m.HostID)
		}
	}
	return nil
}

// Inspect returns the namespace identity (e.g. "net:[4026531840]") of each kind for a pid.
func Inspect(pid int) (map[specs.LinuxNamespaceType]string, error) {
	out := map[specs.LinuxNamespaceType]string{}
	for t, name := range procName {
		link, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", pid, name))
		if err != nil {
			if os.IsNotExist(err) {
				continue // kernel without this kind
			}
			return nil, fmt.Errorf("read namespace %s of pid %d: %w", name, pid, err)
		}
		out[t] = link
	}
	return out, nil
}

// ProcPath is /proc/<pid>/ns/<kind> for an OCI namespace type.
func ProcPath(pid int, t specs.LinuxNamespaceType) string {
	return fmt.Sprintf("/proc/%d/ns/%s", pid, procName[t])
}

// flagNames lists clone flags in the order the kernel creates the namespaces (user first).
var flagNames = []struct {
	flag uintptr
	name string
}{
	{unix.CLONE_NEWUSER, "CLONE_NEWUSER"}, {unix.CLONE_NEWPID, "CLONE_NEWPID"}, {unix.CLONE_NEWNS, "CLONE_NEWNS"},
	{unix.CLONE_NEWUTS, "CLONE_NEWUTS"}, {unix.CLONE_NEWIPC, "CLONE_NEWIPC"}, {unix.CLONE_NEWNET, "CLONE_NEWNET"},
	{unix.CLONE_NEWCGROUP, "CLONE_NEWCGROUP"}, {unix.CLONE_NEWTIME, "CLONE_NEWTIME"},
}

// Describe lists the clone flags by name, for narration.
func Describe(flags uintptr) string {
	var names []string
	for _, f := range flagNames {
		if flags&f.flag != 0 {
			names = append(names, f.name)
		}
	}
	return strings.Join(names, "|")
}
