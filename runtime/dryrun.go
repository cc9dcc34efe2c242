package runtime

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hullrt/hull/cgroups"
	"github.com/hullrt/hull/namespaces"
	"github.com/hullrt/hull/rootfs"
	"github.com/hullrt/hull/runtime/caps"
	"github.com/hullrt/hull/runtime/initproc"
	"github.com/hullrt/hull/runtime/seccomp"
	"github.com/hullrt/hull/runtime/stub"
)

// DryRun records, as "planned" steps (source "plan"), what Create (and with start, Run) would do
// with the bundle, in the order create does it: cgroup directories and writes, the clone flags,
// namespaces joined, every mount, pivot_root, hooks, sysctls, masked and read-only paths, then
// the stub's identity, capabilities, seccomp and execve. It needs no privilege and changes
// nothing: it only reads the bundle, the host's cgroup mounts and the state root (to refuse an
// id in use). Host-dependent details are summarised (see rootfs.Plan.Describe).
func (r *Runtime) DryRun(ctx context.Context, o CreateOptions, start bool) error {
	if err := checkID(o.ID); err != nil {
		return err
	}
	bundle, err := filepath.Abs(o.Bundle)
	if err != nil {
		return fmt.Errorf("bundle: %w", err)
	}
	spec, err := loadSpec(bundle)
	if err != nil {
		return err
	}
	root, err := rootfsPath(bundle, spec)
	if err != nil {
		return err
	}
	if _, err := checkNetwork(spec, o); err != nil {
		return err
	}
	if _, err := os.Lstat(r.dir(o.ID)); err == nil {
		return fmt.Errorf("container with id exists: %s", o.ID)
	}
	l := spec.Linux
	st := &State{ID: o.ID, Bundle: bundle, Rootfs: root, Spec: spec}
	st.CgroupPath = cgroupPath(o.ID, spec)
	plan := func(op, args string) { r.record(SourcePlan, op, args, nil, 0, resultPlanned) }

	plan("mkfifo", r.fifo(o.ID))
	cg, err := cgroups.Plan(st.CgroupPath, deviceResources(l))
	if err != nil {
		return fmt.Errorf("cgroup %s: %w", st.CgroupPath, err)
	}
	for _, s := range cg {
		plan(s.Op, s.Args)
	}
	for _, ns := range namespaces.ToJoin(l.Namespaces) {
		plan("setns", fmt.Sprintf("%s %s", ns.Path, ns.Type))
	}
	flags := namespaces.CloneFlags(l.Namespaces) &^ (unix.CLONE_NEWCGROUP | unix.CLONE_NEWTIME)
	if alone := namespaces.ToJoinAlone(l.Namespaces); len(alone) > 0 {
		// Only a single-threaded process may join these: the stub does, and clones the init (spawn_enter.go).
		var paths []string
		for _, ns := range alone {
			paths = append(paths, fmt.Sprintf("%s %s", ns.Path, ns.Type))
		}
		plan("clone", fmt.Sprintf("stub enter: setns %s, clone(%s|CLONE_PARENT|CLONE_PIDFD) hull init", strings.Join(paths, ", "), namespaces.Describe(flags)))
	} else {
		plan("clone", namespaces.Describe(flags)+" hull init")
	}
	plan("cgroup.apply", "pid <init> → "+st.CgroupPath)
	if namespaces.IsNew(l.Namespaces, specs.CgroupNamespace) {
		plan("unshare", "CLONE_NEWCGROUP")
	}

	var steps []rootfs.PlannedStep
	if namespaces.Has(l.Namespaces, specs.MountNamespace) {
		p, err := rootfs.NewPlan(spec, root, rootfs.Options{NoPivot: o.NoPivot,
			InUserNS: namespaces.Has(l.Namespaces, specs.UserNamespace), CgroupNS: namespaces.Has(l.Namespaces, specs.CgroupNamespace)})
		if err != nil {
			return fmt.Errorf("rootfs: %w", err)
		}
		steps = p.Describe()
	} else {
		steps = []rootfs.PlannedStep{{Phase: "mount", Op: "mount", Args: fmt.Sprintf("proc on %s/proc (host mount namespace) nosuid,nodev,noexec", root)},
			{Phase: "pivot", Op: "chroot", Args: root}}
	}
	phase := func(name string) {
		for _, s := range steps {
			if s.Phase == name {
				plan(s.Op, s.Args)
			}
		}
	}
	phase("mount")
	if spec.Hostname != "" {
		plan("sethostname", spec.Hostname)
	}
	if spec.Domainname != "" {
		plan("setdomainname", spec.Domainname)
	}
	if h := spec.Hooks; h != nil {
		//nolint:staticcheck // Prestart is deprecated but still run.
		planHooks(plan, "prestart", h.Prestart)
		planHooks(plan, "createRuntime", h.CreateRuntime)
		planHooks(plan, "createContainer", h.CreateContainer)
	}
	phase("pivot")
	for k, v := range l.Sysctl {
		plan("write", fmt.Sprintf("%s > /proc/sys/%s", v, strings.ReplaceAll(k, ".", "/")))
	}
	phase("finish")
	if p := spec.Process; p != nil {
		plan("chdir", p.Cwd)
		for _, rl := range p.Rlimits {
			plan("prlimit", fmt.Sprintf("%s soft=%d hard=%d", rl.Type, rl.Soft, rl.Hard))
		}
		prog, err := dryProgram(p, root, l.Seccomp)
		if err != nil {
			return err
		}
		var skipped []initproc.PlannedStep
		prog.Attrs, skipped = initproc.ReadHostLSM().Attrs(p)
		if namespaces.IsNew(l.Namespaces, specs.TimeNamespace) {
			plan("unshare", "CLONE_NEWTIME")
		}
		r.recordPlanned(SourcePlan, initproc.StubSteps(prog, l.Seccomp, skipped))
		plan("execveat", "stub (memfd, sealed) → waits on exec fifo, then execve "+prog.Path+" "+strings.Join(p.Args[1:], " "))
		if name := spec.Annotations[NetworkAnnotation]; name != "" {
			plan("netlink", fmt.Sprintf("ip link add <host veth> master <bridge of %s> up type veth peer name eth0 netns <container>; ip addr add <leased address> dev eth0; ip route add default via <gateway>", name))
		}
		if !start {
			return nil
		}
		plan("open+read", r.fifo(o.ID)+" (wakes the stub)")
		if h := spec.Hooks; h != nil {
			planHooks(plan, "startContainer", h.StartContainer)
			planHooks(plan, "poststart", h.Poststart)
			planHooks(plan, "poststop", h.Poststop)
		}
	}
	return nil
}

func planHooks(plan func(op, args string), kind string, hooks []specs.Hook) {
	for i, h := range hooks {
		plan("hook", fmt.Sprintf("%s #%d %s %s", kind, i, h.Path, strings.Join(h.Args, " ")))
	}
}

// dryProgram is initproc.StubProgram without the host's say: the capabilities as the spec names them
// (create also drops those this host's bounding set lacks), and the executable looked up in the
// rootfs as it is on disk, before any mount.
func dryProgram(p *specs.Process, root string, sc *specs.LinuxSeccomp) (stub.Program, error) {
	prog := stub.Program{Path: p.Args[0], Argv: p.Args, UID: p.User.UID, GID: p.User.GID,
		AdditionalGids: p.User.AdditionalGids, NoNewPrivileges: p.NoNewPrivileges}
	if !strings.Contains(prog.Path, "/") {
		for _, e := range p.Env {
			if v, ok := strings.CutPrefix(e, "PATH="); ok {
				for _, dir := range filepath.SplitList(v) {
					if fi, err := os.Stat(filepath.Join(root, dir, prog.Path)); err == nil && !fi.IsDir() {
						prog.Path = filepath.Join(dir, prog.Path)
						break
					}
				}
			}
		}
	}
	if c := p.Capabilities; c != nil {
		for _, x := range []struct {
			dst   *uint64
			names []string
		}{{&prog.Caps.Bounding, c.Bounding}, {&prog.Caps.Effective, c.Effective}, {&prog.Caps.Permitted, c.Permitted},
			{&prog.Caps.Inheritable, c.Inheritable}, {&prog.Caps.Ambient, c.Ambient}} {
			m, err := caps.Parse(x.names)
			if err != nil {
				return prog, err
			}
			*x.dst = m
		}
	}
	if sc != nil {
		f, err := seccomp.Compile(sc)
		if err != nil {
			return prog, fmt.Errorf("seccomp: %w", err)
		}
		prog.Seccomp = f.Program
	}
	return prog, nil
}
