package supervisor

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Annotations on every replica's container: with them a restarted daemon recognises its replicas
// from the runtime alone, even when the store lost the record (a crash between create and write).
const (
	AnnProject  = "org.hullrt.supervisor.project"
	AnnService  = "org.hullrt.supervisor.service"
	AnnSlot     = "org.hullrt.supervisor.slot"
	AnnGen      = "org.hullrt.supervisor.gen"
	AnnRevision = "org.hullrt.supervisor.revision"
	AnnCPUs     = "org.hullrt.supervisor.cpus" // the cpuset placement chose: a restarted daemon counts it
	// AnnNetwork is the runtime's own annotation (runtime.NetworkAnnotation): create wires eth0.
	AnnNetwork = "org.hullrt.network"
)

// ReplicaID names a replica's container: <project>-<service>-<slot>.<gen>.
func ReplicaID(project, service string, slot, gen int) string {
	return fmt.Sprintf("%s-%s-%d.%d", project, service, slot, gen)
}

// NetworkName is the hull network a project's replicas join.
func NetworkName(project string) string { return "hull-" + project }

// BuildSpec makes a replica's OCI spec from the runtime's defaults (base: hull's `spec`, as
// locked down as Docker's), the image's config and the service. Compose's rules: entrypoint
// replaces the image's and drops its cmd; command replaces the cmd; environment adds to the
// image's.
func BuildSpec(base *specs.Spec, p *Project, s *Service, r *Replica, rootfs string, img ImageConfig) (*specs.Spec, error) {
	sp := base
	sp.Root = &specs.Root{Path: rootfs, Readonly: s.ReadOnly}
	sp.Hostname = cmpOr(s.Hostname, r.Name())
	proc := sp.Process
	proc.Terminal = false
	args := append([]string(nil), img.Entrypoint...)
	cmd := img.Cmd
	if s.Entrypoint != nil {
		args, cmd = append([]string(nil), s.Entrypoint...), nil
	}
	if s.Command != nil {
		cmd = s.Command
	}
	args = append(args, cmd...)
	if len(args) == 0 {
		return nil, errors.New("no command: the image has none and the service sets neither entrypoint nor command")
	}
	proc.Args = args
	proc.Env = mergeEnv(proc.Env, img.Env, s.Env)
	proc.Cwd = cmpOr(s.WorkingDir, cmpOr(img.WorkingDir, "/"))
	user := cmpOr(s.User, img.User)
	if user != "" {
		resolve := img.ResolveUser
		if resolve == nil {
			resolve = parseUser
		}
		u, err := resolve(user)
		if err != nil {
			return nil, err
		}
		proc.User = u
	}
	if err := adjustCaps(proc.Capabilities, s.CapAdd, s.CapDrop); err != nil {
		return nil, err
	}
	for _, m := range s.Mounts {
		sp.Mounts = append(sp.Mounts, ociMount(m))
	}
	if sp.Linux.Resources == nil {
		sp.Linux.Resources = &specs.LinuxResources{}
	}
	res := sp.Linux.Resources
	if c := s.Resources.CPUs; c > 0 {
		period := uint64(100000)
		quota := int64(c * float64(period))
		res.CPU = &specs.LinuxCPU{Period: &period, Quota: &quota}
	}
	if r.CPUs != "" {
		// The runtime writes it to cpuset.cpus (and mems to cpuset.mems) before the process runs.
		if res.CPU == nil {
			res.CPU = &specs.LinuxCPU{}
		}
		res.CPU.Cpus, res.CPU.Mems = r.CPUs, r.Mems
	}
	if m := s.Resources.Memory; m > 0 || s.Resources.ReserveMemory > 0 {
		res.Memory = &specs.LinuxMemory{}
		if m > 0 {
			res.Memory.Limit = &m
		}
		if rm := s.Resources.ReserveMemory; rm > 0 {
			res.Memory.Reservation = &rm
		}
	}
	if n := s.Resources.Pids; n > 0 {
		res.Pids = &specs.LinuxPids{Limit: &n}
	}
	sp.Linux.CgroupsPath = "/hull/" + r.ID
	if sp.Annotations == nil {
		sp.Annotations = map[string]string{}
	}
	sp.Annotations[AnnProject] = p.Name
	sp.Annotations[AnnService] = s.Name
	sp.Annotations[AnnSlot] = strconv.Itoa(r.Slot)
	sp.Annotations[AnnGen] = strconv.Itoa(r.Gen)
	sp.Annotations[AnnRevision] = r.Revision
	if r.CPUs != "" {
		sp.Annotations[AnnCPUs] = r.CPUs
	}
	if s.Network {
		sp.Annotations[AnnNetwork] = NetworkName(p.Name)
	}
	return sp, nil
}

func mergeEnv(layers ...any) []string {
	vals := map[string]string{}
	var order []string
	set := func(k, v string) {
		if _, ok := vals[k]; !ok {
			order = append(order, k)
		}
		vals[k] = v
	}
	for _, l := range layers {
		switch l := l.(type) {
		case []string:
			for _, kv := range l {
				k, v, _ := strings.Cut(kv, "=")
				set(k, v)
			}
		case map[string]string:
			for _, k := range sortedKeys(l) {
				set(k, l[k])
			}
		}
	}
	out := make([]string, 0, len(order))
	for _, k := range order {
		out = append(out, k+"="+vals[k])
	}
	return out
}

// parseUser reads "uid[:gid]": the user of an image whose files nobody can read (no
// ResolveUser); a name needs the container's /etc/passwd.
func parseUser(u string) (specs.User, error) {
	if u == "root" {
		return specs.User{}, nil
	}
	us, gs, hasGid := strings.Cut(u, ":")
	uid, err := strconv.ParseUint(us, 10, 32)
	if err != nil {
		return specs.User{}, fmt.Errorf("user %q: only numeric uid[:gid] is supported", u)
	}
	gid := uid
	if hasGid {
		if gid, err = strconv.ParseUint(gs, 10, 32); err != nil {
			return specs.User{}, fmt.Errorf("user %q: only numeric uid[:gid] is supported", u)
		}
	}
	return specs.User{UID: uint32(uid), GID: uint32(gid)}, nil
}

func capName(c string) string {
	c = strings.ToUpper(c)
	if !strings.HasPrefix(c, "CAP_") {
		c = "CAP_" + c
	}
	return c
}

// adjustCaps applies cap_add and cap_drop to every set the base spec fills.
func adjustCaps(c *specs.LinuxCapabilities, add, drop []string) error {
	if c == nil {
		return nil
	}
	edit := func(set []string) []string {
		m := map[string]bool{}
		for _, x := range set {
			m[x] = true
		}
		for _, d := range drop {
			if strings.EqualFold(d, "ALL") {
				m = map[string]bool{}
				continue
			}
			delete(m, capName(d))
		}
		for _, a := range add {
			m[capName(a)] = true
		}
		out := make([]string, 0, len(m))
		for x := range m {
			out = append(out, x)
		}
		sort.Strings(out)
		return out
	}
	for _, a := range add {
		if strings.EqualFold(a, "ALL") {
			return errors.New("cap_add: ALL is not supported; name the capabilities")
		}
	}
	c.Bounding, c.Effective, c.Permitted = edit(c.Bounding), edit(c.Effective), edit(c.Permitted)
	return nil
}

func ociMount(m Mount) specs.Mount {
	switch m.Type {
	case "tmpfs":
		opts := []string{"nosuid", "nodev", "mode=1777"}
		if m.Size > 0 {
			opts = append(opts, "size="+strconv.FormatInt(m.Size, 10))
		}
		return specs.Mount{Destination: m.Target, Type: "tmpfs", Source: "tmpfs", Options: opts}
	default: // bind and volume: both a directory of the host
		mode := "rw"
		if m.ReadOnly {
			mode = "ro"
		}
		return specs.Mount{Destination: m.Target, Type: "bind", Source: m.Source, Options: []string{"rbind", mode}}
	}
}
