package runtime

import (
	"fmt"
	"strconv"
	"strings"
)

// The explain table: for every op hull records (the leaves' Recorder calls, the runtime's own
// steps, the stub's planned steps and the supervisor's decisions), one line of why and, where
// one exists, the shell command a learner could type to do the same by hand. It is keyed by op
// so that no call site has to know about teaching; args already read like the shell command, so
// most entries only prefix the tool's name. explain_test.go fails when a recorded op has no entry.

// lesson explains one op, or one kind of it: when match is set, only steps whose args contain
// it. The first matching entry wins, so specific entries come before the op's general one.
type lesson struct {
	op    string
	match string
	why   string
	shell func(args string) string // nil: no shell command does the same
}

// Explain returns the shell equivalent (possibly empty) and the reason for one step; an op with
// no entry gets an empty reason.
func Explain(op, args string) (shell, why string) {
	for _, l := range lessons {
		if l.op != op || (l.match != "" && !strings.Contains(args, l.match)) {
			continue
		}
		if l.shell != nil {
			shell = l.shell(args)
		}
		return shell, l.why
	}
	return "", ""
}

// explained reports whether op has an entry (for the test that scans the source).
func explained(op string) bool {
	for _, l := range lessons {
		if l.op == op {
			return true
		}
	}
	return false
}

// prefix is the shell command "<tool> <args>".
func prefix(tool string) func(string) string {
	return func(args string) string { return tool + " " + args }
}

func verbatim(args string) string { return args }

var lessons = []lesson{
	// Namespaces.
	{op: "clone", match: "stub enter", why: "a user (or time) namespace given by path can be joined only by a single-threaded process: hull's C stub joins it, then clones the init with the new namespaces, which the joined user namespace then owns",
		shell: nil},
	{op: "recvmsg", why: "the stub hands hull a pidfd of the init it cloned (SCM_RIGHTS); the init is hull's child (CLONE_PARENT), so hull waits for it as for any child",
		shell: nil},
	{op: "open", match: "hull-init", why: "the container's init is hull-init, a small Go program embedded in hull and kept as a root-only copy under the state root: it starts in ≈1.2 ms of CPU where hull's own binary, with everything it links, takes ≈3.2 ms",
		shell: nil},
	{op: "write", match: "hull-init", why: "the first container under this state root writes the embedded init out once (write-temp, rename, mode 0555); later ones only check it by fstat",
		shell: nil},
	{op: "open_tree", why: "a detached read-only bind mount of the init's binary: the init runs from it, so a process that reaches the init cannot open that binary for writing (CVE-2019-5736)",
		shell: nil},
	{op: "clone", match: "stub await", why: "the container's first process is the C stub from the start: it joins its cgroups itself, then waits while hull, from a thread in its namespaces, builds its root (no Go init to start)",
		shell: cloneShell},
	{op: "clone", match: "into the namespaces of pid", why: "exec: a new process is born inside a running container's namespaces (setns before clone), so it sees what the container sees",
		shell: cloneIntoShell},
	{op: "clone", why: "clone(2) with CLONE_NEW* flags makes the new namespaces and the container's first process in one call: it is born isolated",
		shell: cloneShell},
	{op: "unshare", match: "CLONE_NEWCGROUP", why: "a cgroup namespace made after joining the cgroup: the container then sees its own cgroup as \"/\"",
		shell: func(string) string { return "unshare --cgroup" }},
	{op: "unshare", match: "CLONE_NEWTIME", why: "a time namespace, made last: it lets the container see other boot/monotonic clock offsets",
		shell: func(string) string { return "unshare --time" }},
	{op: "unshare", match: "CLONE_FS", why: "setns into a mount namespace is refused to a thread that shares its root and cwd with others",
		shell: nil},
	{op: "unshare", why: "unshare(2) puts the calling process into new namespaces", shell: func(a string) string { return "unshare " + a }},
	{op: "setns", match: "pidfd of", why: "one hull thread enters all of the new container's namespaces at once through its pidfd, to mount its root from there; the pid namespace stays: only children enter it",
		shell: pidfdSetnsShell},
	{op: "setns", why: "linux.namespaces gave a path: the container joins that existing namespace instead of making one",
		shell: setnsShell},

	// cgroups.
	{op: "cgroup.mkdir", why: "mkdir on a cgroup filesystem creates a cgroup: the kernel fills the directory with its control files",
		shell: prefix("mkdir")},
	{op: "cgroup.write", match: "tasks=0 ", why: "writing 0 to a v1 tasks file moves only the writing thread (the init's locked one, or the stub), and the kernel does that without the global lock a cgroup.procs write takes, which may wait out an RCU grace period",
		shell: cgroupWriteShell},
	{op: "cgroup.write", match: "cgroup.procs=", why: "writing a pid to cgroup.procs moves that process (all its threads) into the cgroup; its children are born there",
		shell: cgroupWriteShell},
	{op: "cgroup.write", match: "memory.", why: "a memory limit: above it the kernel reclaims, then the OOM killer kills a process in this cgroup",
		shell: cgroupWriteShell},
	{op: "cgroup.write", match: "pids.max", why: "at most this many tasks: fork(2) fails with EAGAIN beyond it (fork bombs stop here)",
		shell: cgroupWriteShell},
	{op: "cgroup.write", match: "devices.", why: "device access control (v1): which device numbers the container may open or mknod; deny all, then allow a few",
		shell: cgroupWriteShell},
	{op: "cgroup.write", match: "cpuset.", why: "cpuset: which CPUs and memory nodes the processes may use; v1 starts a new cpuset empty, so it is copied from the parent",
		shell: cgroupWriteShell},
	{op: "cgroup.write", match: "cpu.", why: "CPU weight or quota: how much CPU time the cgroup gets",
		shell: cgroupWriteShell},
	{op: "cgroup.write", match: "subtree_control", why: "cgroup v2: a controller's files appear in a child only when the parent enables it in cgroup.subtree_control",
		shell: cgroupWriteShell},
	{op: "cgroup.write", match: "freeze", why: "the freezer stops (1/FROZEN) or resumes every process of the cgroup at once",
		shell: cgroupWriteShell},
	{op: "cgroup.write", why: "one cgroup control file written with one value: this is how every cgroup limit is set",
		shell: cgroupWriteShell},
	{op: "cgroup.load", why: "the cgroup library opens the container's cgroup in every hierarchy (no write)",
		shell: nil},
	{op: "cgroup.apply", why: "the container's init joins its cgroups (one cgroup.procs write per hierarchy, listed above); all its children inherit them",
		shell: cgroupApplyShell},
	{op: "cgroup.devices", why: "cgroup v2 has no devices files: an eBPF program attached to the cgroup decides every open and mknod of a device",
		shell: nil},
	{op: "cgroup.set", why: "update: new limits for a running container, written file by file (the cgroup.write lines)",
		shell: nil},
	{op: "cgroup.freeze", why: "pause: the freezer stops every process of the container at once, without a signal they could see",
		shell: nil},
	{op: "cgroup.thaw", why: "resume: the freezer lets the processes run again",
		shell: nil},
	{op: "cgroup.kill", why: "a signal to every process in the cgroup: nothing the container forked can hide from it",
		shell: nil},
	{op: "cgroup.rmdir", why: "rmdir removes a cgroup once no process is left in it (the files inside need no unlinking)",
		shell: prefix("rmdir")},
	{op: "cgroup.delete", why: "the container's cgroups go, in every hierarchy (the cgroup.rmdir lines)",
		shell: nil},

	// The root filesystem.
	{op: "mount", match: "--make-", why: "mount propagation: with rslave nothing mounted in the container propagates back to the host",
		shell: prefix("mount")},
	{op: "mount", match: "--rbind", why: "a bind mount makes a directory visible at a second place; the rootfs is bound onto itself so it is a mount point pivot_root accepts",
		shell: prefix("mount")},
	{op: "mount", match: "--bind /dev/null", why: "masking: /dev/null bound over a file hides it (maskedPaths) so the container cannot read kernel internals",
		shell: prefix("mount")},
	{op: "mount", match: "--bind", why: "a bind mount makes a host file or directory visible inside the container",
		shell: prefix("mount")},
	{op: "mount", match: "-t proc", why: "a /proc for the new pid namespace: it lists only the container's own processes",
		shell: prefix("mount")},
	{op: "mount", match: "-t sysfs", why: "/sys, read-only: the container may read device and kernel facts but change none",
		shell: prefix("mount")},
	{op: "mount", match: "-t cgroup", why: "the container's view of its own cgroup, read-only",
		shell: prefix("mount")},
	{op: "mount", match: "-t devpts", why: "a private devpts instance: the container's terminals are its own",
		shell: prefix("mount")},
	{op: "mount", match: "-t mqueue", why: "POSIX message queues of the container's IPC namespace",
		shell: prefix("mount")},
	{op: "mount", match: "remount", why: "a remount changes flags (ro, nosuid, ...) of a mount that exists; a bind needs a second call for them",
		shell: prefix("mount")},
	{op: "mount", match: "-t tmpfs", why: "a tmpfs: memory-backed and private to the container (/dev, /dev/shm, or a mask over a directory)",
		shell: prefix("mount")},
	{op: "mount", why: "a mount from config.json's mounts list, inside the container's mount namespace",
		shell: prefix("mount")},
	{op: "mount_setattr", why: "mount_setattr(2) changes flags on a whole mount tree at once (recursive read-only, nosuid, ...)",
		shell: mountSetattrShell},
	{op: "umount2", why: "after pivot_root the host's root hangs at the old root; detaching it removes the host's files from the container's view",
		shell: prefix("umount")},
	{op: "image.release", why: "a root made from an image is an overlay mount (image layers read-only below, the container's own upper dir): delete unmounts it and removes the container's layer, leaving the shared image layers",
		shell: func(bundle string) string { return "umount " + bundle + "/rootfs && rm -rf " + bundle }},
	{op: "mkdir", why: "a mount point or directory the container needs",
		shell: prefix("mkdir")},
	{op: "touch", why: "a file to bind-mount a file onto (a bind needs a target of the same kind)",
		shell: prefix("touch")},
	{op: "mknod", why: "a device node the spec requires (/dev/null, /dev/zero, ...): the devices cgroup allows exactly these",
		shell: prefix("mknod")},
	{op: "chown", match: "exec.fifo", why: "the exec fifo belongs to the joined user namespace's root, which the stub is when it reopens the fifo to wait",
		shell: prefix("chown")},
	{op: "chown", why: "the device node belongs to the container's user",
		shell: prefix("chown")},
	{op: "symlink", why: "the /dev links every Linux program expects (/dev/fd, /dev/stdin, /dev/ptmx, ...)",
		shell: prefix("ln -s")},
	{op: "unlink", why: "a file in the way of a link the container needs",
		shell: prefix("rm")},
	{op: "copyup", why: "tmpcopyup: the new tmpfs starts with a copy of what the directory held",
		shell: nil},
	{op: "pivot_root", why: "pivot_root makes the rootfs the root of the mount namespace and moves the host's root aside, to be unmounted: unlike chroot, no path leads back out",
		shell: pivotShell},
	{op: "chroot", why: "chroot changes only this process's idea of \"/\" (used without a mount namespace or with --no-pivot); root can climb out of it, pivot_root cannot be climbed out of",
		shell: prefix("chroot")},
	{op: "chdir", match: "(old root)", why: "into the old root, held by an fd, to detach it",
		shell: nil},
	{op: "chdir", why: "the working directory: the rootfs before pivot_root, process.cwd before exec",
		shell: prefix("cd")},

	// The process's environment.
	{op: "sethostname", why: "the hostname of the container's own UTS namespace; the host's does not change",
		shell: prefix("hostname")},
	{op: "setdomainname", why: "the NIS domain name of the container's UTS namespace",
		shell: prefix("domainname")},
	{op: "write", match: "/proc/sys/", why: "a sysctl from linux.sysctl, written in the container's own namespaces (net.*, kernel.shm*, ...)",
		shell: echoShell},
	{op: "write", match: "oom_score_adj", why: "how eagerly the OOM killer picks this process",
		shell: echoShell},
	{op: "write", match: "timens_offsets", why: "the clock offsets of the new time namespace, written before any process is in it",
		shell: echoShell},
	{op: "write", match: "/attr/", why: "the LSM (AppArmor/SELinux) label the process gets at its next execve",
		shell: echoShell},
	{op: "write", match: "timerslack_ns", why: "hull's own Go runtime: its sysmon thread naps 20 µs at a time in a young process; a 3 ms timer slack lets the kernel batch those wake-ups (runtime/sysmon). Containers and hooks keep the caller's slack",
		shell: echoShell},
	{op: "write", why: "one value written to a kernel file",
		shell: echoShell},
	{op: "prlimit", why: "a resource limit (process.rlimits), set last: some would break hull itself if set earlier",
		shell: prlimitShell},
	{op: "open", match: "ptmx", why: "a new pseudo-terminal for process.terminal; the container's process gets its slave end",
		shell: nil},
	{op: "open", why: "the exec fifo is held by an O_PATH fd before pivot_root hides the host: the stub waits on it for start",
		shell: nil},
	{op: "sendmsg", match: "program (memfd", why: "the waiting stub gets what it will execute, sealed, and its working directory as an fd opened inside the new root (SCM_RIGHTS)",
		shell: nil},
	{op: "sendmsg", why: "the terminal's master end is passed to the caller's --console-socket (SCM_RIGHTS)",
		shell: nil},
	{op: "ioctl", why: "the pty becomes the controlling terminal of the new session",
		shell: nil},
	{op: "hook", why: "an OCI hook from config.json, run with the container's state as JSON on stdin",
		shell: hookShell},

	// The stub's credentials and exec (planned by the init, applied at start).
	{op: "execveat", why: "the Go init replaces itself with the small C stub from a sealed memfd: the host's hull binary is never reachable from the container (CVE-2019-5736)",
		shell: nil},
	{op: "setgroups", why: "the supplementary groups of process.user",
		shell: func(a string) string {
			if a == "" {
				return "setpriv --clear-groups"
			}
			return "setpriv --groups=" + a
		}},
	{op: "setresuid", why: "the user and group the process runs as (process.user), after which root's powers are only what the capabilities below keep",
		shell: setresuidShell},
	{op: "capset", why: "capabilities: the slices of root's power the process keeps; everything else is dropped from the bounding set for good",
		shell: capsetShell},
	{op: "prctl", match: "NO_NEW_PRIVS", why: "no_new_privs: no setuid binary or file capability can ever raise the process's privileges again",
		shell: func(string) string { return "setpriv --no-new-privs" }},
	{op: "prctl", why: "a process attribute set with prctl(2)",
		shell: nil},
	{op: "seccomp", why: "a seccomp BPF filter the kernel runs on every system call of the process and its children: it allows, fails or kills",
		shell: nil},
	{op: "execve", why: "the user's program replaces the stub: from here on it is the container's process, pid 1 of its pid namespace",
		shell: prefix("exec")},
	{op: "mkfifo", why: "the exec fifo: the container is \"created\" while the stub waits on it, and start opens it to let the process run",
		shell: prefix("mkfifo -m 622")},
	{op: "open+read", why: "start opens the exec fifo for reading: the waiting stub wakes, writes one byte, applies the credentials and execve()s; EOF means the exec happened",
		shell: openReadShell},

	// Signals, waiting, cleanup.
	{op: "pidfd_send_signal", why: "a signal through a pidfd: it can never reach another process that reused the pid",
		shell: killShell},
	{op: "poll", why: "waiting on a pidfd until the process is gone, without a sleep loop",
		shell: pollShell},
	{op: "wait4", why: "run waits for the container's process to end; its exit code (128+signal when killed, 137 for an OOM kill) becomes hull's",
		shell: func(a string) string {
			var pid int
			if _, err := fmt.Sscanf(a, "pid %d", &pid); err != nil {
				return ""
			}
			return fmt.Sprintf("wait %d", pid)
		}},
	{op: "rm -r", why: "the container's state directory goes last",
		shell: prefix("rm -r")},

	// Networks.
	{op: "netlink", match: "type bridge_slave", why: "hairpin: a container can reach its own published port through the bridge",
		shell: verbatim},
	{op: "netlink", match: "type bridge", why: "a bridge is a virtual switch: every container of the network plugs a veth into it",
		shell: verbatim},
	{op: "netlink", match: "type veth", why: "a veth pair is a virtual cable: one end on the bridge, the other end born inside the container's network namespace as its eth0",
		shell: verbatim},
	{op: "netlink", match: "addr ", why: "an IP address on an interface (netlink RTM_NEWADDR)",
		shell: verbatim},
	{op: "netlink", match: "route ", why: "the default route: traffic to anywhere else goes to the bridge's address, the gateway",
		shell: verbatim},
	{op: "netlink", match: "link del", why: "deleting one end of a veth deletes the pair",
		shell: verbatim},
	{op: "netlink", match: "conntrack", why: "forget the connections tracked for a released address, so no packet follows a stale NAT entry",
		shell: verbatim},
	{op: "netlink", why: "a link brought up or changed over netlink, as ip(8) does",
		shell: verbatim},
	{op: "sysctl", why: "IP forwarding lets the host route between the bridge and the outside",
		shell: verbatim},
	{op: "exec", match: "hull-relay", why: "127.0.0.1 cannot be DNAT'd to a container without route_localnet (CVE-2020-8558), so a 20 KB splice relay listens there and hands each connection to the published port on the bridge, where the kernel's DNAT takes over",
		shell: verbatim},
	{op: "nftables", why: "nftables rules (table inet hull): masquerade and forwarding for the network, or port publishing",
		shell: verbatim},
}

// cloneShell: "CLONE_NEWPID|CLONE_NEWNS hull init" → "unshare --pid --fork --mount hull init".
func cloneShell(args string) string {
	flags, rest, _ := strings.Cut(args, " ")
	opts := []string{"unshare"}
	for _, f := range strings.Split(flags, "|") {
		if o, ok := unshareOpt[f]; ok {
			opts = append(opts, o)
		}
	}
	if rest != "" {
		opts = append(opts, rest)
	}
	return strings.Join(opts, " ")
}

var unshareOpt = map[string]string{
	"CLONE_NEWPID": "--pid --fork", "CLONE_NEWNS": "--mount", "CLONE_NEWUTS": "--uts", "CLONE_NEWIPC": "--ipc",
	"CLONE_NEWNET": "--net", "CLONE_NEWUSER": "--user", "CLONE_NEWCGROUP": "--cgroup", "CLONE_NEWTIME": "--time",
}

// cloneIntoShell: "into the namespaces of pid 42: stub → /bin/ps -ef" → "nsenter -t 42 --all /bin/ps -ef".
func cloneIntoShell(args string) string {
	var pid int
	if _, err := fmt.Sscanf(args, "into the namespaces of pid %d:", &pid); err != nil {
		return ""
	}
	_, prog, _ := strings.Cut(args, "→ ")
	return strings.TrimSpace(fmt.Sprintf("nsenter -t %d --all %s", pid, prog))
}

// setnsShell: "/proc/42/ns/net network" → "nsenter --net=/proc/42/ns/net".
func setnsShell(args string) string {
	path, typ, _ := strings.Cut(args, " ")
	opt := map[string]string{"pid": "pid", "network": "net", "mount": "mount", "ipc": "ipc", "uts": "uts",
		"user": "user", "cgroup": "cgroup", "time": "time"}[typ]
	if opt == "" {
		return ""
	}
	return fmt.Sprintf("nsenter --%s=%s", opt, path)
}

// pidfdSetnsShell: "pidfd of 42 CLONE_NEWNS|CLONE_NEWUTS" → "nsenter -t 42 --mount --uts".
func pidfdSetnsShell(args string) string {
	f := strings.Fields(strings.TrimPrefix(args, "pidfd of "))
	if len(f) != 2 {
		return ""
	}
	opts := map[string]string{"CLONE_NEWNS": "--mount", "CLONE_NEWUTS": "--uts", "CLONE_NEWIPC": "--ipc",
		"CLONE_NEWNET": "--net", "CLONE_NEWCGROUP": "--cgroup"}
	cmd := "nsenter -t " + f[0]
	for _, flag := range strings.Split(f[1], "|") {
		if o := opts[flag]; o != "" {
			cmd += " " + o
		}
	}
	return cmd
}

// cgroupWriteShell: "memory.max=64M in /sys/fs/cgroup/hull/x" → "echo 64M > /sys/fs/cgroup/hull/x/memory.max".
func cgroupWriteShell(args string) string {
	fv, dir, ok := strings.Cut(args, " in ")
	file, val, ok2 := strings.Cut(fv, "=")
	if !ok || !ok2 {
		return ""
	}
	return fmt.Sprintf("echo %s > %s/%s", shellQuote(val), dir, file)
}

// cgroupApplyShell: "pid 42 → /hull/x" → "echo 42 > /sys/fs/cgroup/<each hierarchy>/hull/x/cgroup.procs".
func cgroupApplyShell(args string) string {
	var pid int
	if _, err := fmt.Sscanf(args, "pid %d", &pid); err != nil {
		return ""
	}
	_, path, _ := strings.Cut(args, "→ ")
	return fmt.Sprintf("echo %d > /sys/fs/cgroup/<each hierarchy>%s/cgroup.procs", pid, path)
}

// mountSetattrShell: "/x set=0x1 clear=0x0 recursive" → "mount -o remount,bind,ro /x" (per submount).
func mountSetattrShell(args string) string {
	f := strings.Fields(args)
	if len(f) < 2 {
		return ""
	}
	set, err := strconv.ParseUint(strings.TrimPrefix(f[1], "set=0x"), 16, 64)
	if err != nil {
		return ""
	}
	opts := []string{"remount", "bind"}
	for _, a := range []struct {
		bit  uint64
		name string
	}{{0x1, "ro"}, {0x2, "nosuid"}, {0x4, "nodev"}, {0x8, "noexec"}, {0x10, "noatime"}} {
		if set&a.bit != 0 {
			opts = append(opts, a.name)
		}
	}
	return fmt.Sprintf("mount -o %s %s", strings.Join(opts, ","), f[0])
}

// pivotShell: ". . (in /b/rootfs)" → "cd /b/rootfs && pivot_root . .".
func pivotShell(args string) string {
	_, dir, ok := strings.Cut(args, "(in ")
	if !ok {
		return "pivot_root " + args
	}
	return "cd " + strings.TrimSuffix(dir, ")") + " && pivot_root . ."
}

// echoShell: "1 > /proc/sys/net/ipv4/ip_forward" → "echo 1 > /proc/sys/net/ipv4/ip_forward".
func echoShell(args string) string {
	val, path, ok := strings.Cut(args, " > ")
	if !ok {
		return ""
	}
	return fmt.Sprintf("echo %s > %s", shellQuote(val), path)
}

// prlimitShell: "RLIMIT_NOFILE soft=1024 hard=1024" (or "pid 42 RLIMIT_...") → "prlimit --nofile=1024:1024".
func prlimitShell(args string) string {
	f := strings.Fields(args)
	pid := ""
	if len(f) >= 2 && f[0] == "pid" {
		pid, f = " --pid "+f[1], f[2:]
	}
	if len(f) != 3 || !strings.HasPrefix(f[0], "RLIMIT_") {
		return ""
	}
	name := strings.ToLower(strings.TrimPrefix(f[0], "RLIMIT_"))
	return fmt.Sprintf("prlimit%s --%s=%s:%s", pid, name, strings.TrimPrefix(f[1], "soft="), strings.TrimPrefix(f[2], "hard="))
}

// hookShell: "prestart #0 /usr/bin/hook a b" → "/usr/bin/hook a b < state.json".
func hookShell(args string) string {
	f := strings.Fields(args)
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[2:], " ") + " < state.json"
}

// setresuidShell: "uid=1000 gid=1000" → "setpriv --reuid=1000 --regid=1000".
func setresuidShell(args string) string {
	var uid, gid uint32
	if _, err := fmt.Sscanf(args, "uid=%d gid=%d", &uid, &gid); err != nil {
		return ""
	}
	return fmt.Sprintf("setpriv --reuid=%d --regid=%d", uid, gid)
}

// capsetShell: "bounding=chown,kill effective=... inheritable= ambient=" → setpriv's options.
func capsetShell(args string) string {
	out := []string{"setpriv"}
	for _, kv := range strings.Fields(args) {
		k, v, _ := strings.Cut(kv, "=")
		list := "-all"
		if v != "" {
			list += ",+" + strings.ReplaceAll(v, ",", ",+")
		}
		switch k {
		case "bounding":
			out = append(out, "--bounding-set="+list)
		case "inheritable":
			out = append(out, "--inh-caps="+list)
		case "ambient":
			out = append(out, "--ambient-caps="+list)
		}
	}
	return strings.Join(out, " ")
}

// openReadShell: "/run/hull/x/exec.fifo (wakes the stub)" → "cat /run/hull/x/exec.fifo".
func openReadShell(args string) string {
	path, _, _ := strings.Cut(args, " ")
	return "cat " + path
}

// killShell: "SIGKILL pid 42" → "kill -KILL 42".
func killShell(args string) string {
	var sig string
	var pid int
	if _, err := fmt.Sscanf(args, "%s pid %d", &sig, &pid); err != nil {
		return ""
	}
	return fmt.Sprintf("kill -%s %d", strings.TrimPrefix(sig, "SIG"), pid)
}

// pollShell: "pidfd of pid 42 until exit" → "tail --pid=42 -f /dev/null".
func pollShell(args string) string {
	var pid int
	if _, err := fmt.Sscanf(args, "pidfd of pid %d", &pid); err != nil {
		return ""
	}
	return fmt.Sprintf("tail --pid=%d -f /dev/null", pid)
}

// shellQuote quotes a value that has spaces or shell metacharacters.
func shellQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t*?[]$'\"\\|&;<>()#~") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
