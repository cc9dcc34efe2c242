//go:build integration

package test

import (
	"regexp"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// A container made the direct way (a thread of hull builds its root; runtime/direct.go) must be
// the same, seen from inside, as one made by the Go init. A createContainer hook (which runs
// inside the container) sends the second run down the init's way; --debug says which way each
// took. Both have a createRuntime hook, which runs in hull's namespaces either way.
func TestDirectSetupMatchesInit(t *testing.T) {
	x := newH(t)
	if !procfsTakesPidns() {
		// Before Linux 6.18 /proc cannot be mounted for a pid namespace from outside it: only a
		// container in the host's pid namespace takes the direct way there.
		x.spec.Linux.Namespaces = without(x.spec.Linux.Namespaces, specs.PIDNamespace)
	}
	umask, adj := uint32(0o027), 300
	x.spec.Hostname, x.spec.Domainname = "direct", "example.org"
	x.spec.Root.Readonly = true
	x.spec.Process.Cwd = "/work/made"
	x.spec.Process.User.Umask = &umask
	x.spec.Process.OOMScoreAdj = &adj
	x.spec.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 333, Hard: 444}}
	x.spec.Linux.Sysctl = map[string]string{"net.ipv4.ip_forward": "1", "kernel.msgmax": "4242"}
	x.spec.Mounts = append(x.spec.Mounts, specs.Mount{Destination: "/mnt/etc", Type: "bind", Source: "/etc", Options: []string{"rbind", "ro"}})
	script := `cut -d' ' -f4- /proc/self/mountinfo; cat /proc/self/cgroup; hostname; cat /proc/sys/kernel/domainname; pwd; umask
grep -E '^(Cap|NoNewPrivs|Seccomp)' /proc/self/status; ulimit -Sn; ulimit -Hn; cat /proc/self/oom_score_adj
cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/msgmax; ls -ln /dev | awk '{print $1, $3, $4, $5, $6, $NF}'
touch /rootfs-is-ro 2>&1; ls -A /; readlink /proc/1/exe; cat /proc/1/cmdline | tr '\0' ' '; echo; ls /proc/1/fd`
	x.spec.Process.Args = []string{"sh", "-c", script}
	x.spec.Hooks = &specs.Hooks{CreateRuntime: []specs.Hook{{Path: "/bin/true"}}}
	x.writeSpec()
	direct := x.run("--debug", "run", "--bundle", x.bundle, "direct")
	x.spec.Hooks.CreateContainer = []specs.Hook{{Path: "/bin/true"}}
	x.writeSpec()
	viaInit := x.run("--debug", "run", "--bundle", x.bundle, "init")
	for _, r := range []result{direct, viaInit} {
		if r.code != 0 {
			t.Fatalf("exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
		}
	}
	if !strings.Contains(direct.stderr, "stub await") || strings.Contains(direct.stderr, "by=init") {
		t.Errorf("the first container did not take the direct way:\n%s", direct.stderr)
	}
	if !strings.Contains(direct.stderr, "hook createRuntime #0 /bin/true") {
		t.Errorf("the direct way did not run the createRuntime hook:\n%s", direct.stderr)
	}
	if !strings.Contains(viaInit.stderr, "by=init") {
		t.Errorf("the second container did not take the init's way:\n%s", viaInit.stderr)
	}
	if direct.stdout != viaInit.stdout {
		t.Errorf("the two ways differ inside the container:\n--- direct\n%s\n--- init\n%s", direct.stdout, viaInit.stdout)
	}
	// And what both show is what was asked for.
	for _, want := range []string{"direct\nexample.org\n/work/made\n0027\n", "\n333\n444\n300\n1\n4242\n", "Read-only file system",
		" /proc/keys ", " /mnt/etc ro,", "NoNewPrivs:\t1"} {
		if !strings.Contains(direct.stdout, want) {
			t.Errorf("container output lacks %q:\n%s", want, direct.stdout)
		}
	}
	// No host fd reaches the container's process, and no host binary is its executable.
	if m := regexp.MustCompile(`(?m)^memfd:hull-stub.*$|/hull`).FindString(direct.stdout); m != "" {
		t.Errorf("the container's pid 1 shows %q", m)
	}
}

// procfsTakesPidns asks the kernel whether procfs knows the pidns= option (Linux 6.18).
func procfsTakesPidns() bool {
	fd, err := unix.Fsopen("proc", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	return unix.FsconfigSetString(fd, "pidns", "/proc/self/ns/pid") == nil
}

func without(nss []specs.LinuxNamespace, t specs.LinuxNamespaceType) []specs.LinuxNamespace {
	var out []specs.LinuxNamespace
	for _, ns := range nss {
		if ns.Type != t {
			out = append(out, ns)
		}
	}
	return out
}
