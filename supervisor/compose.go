package supervisor

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/tree"
	"github.com/compose-spec/compose-go/v2/types"
)

// LoadOptions say which compose file to read and how to name its project.
type LoadOptions struct {
	File        string   // compose.yaml
	ProjectName string   // "": compose's rule (the name: key, else the directory's name)
	Env         []string // KEY=VALUE for interpolation; nil: none besides the file's .env
	VolumesDir  string   // named volumes live in VolumesDir/<project>_<name>
}

// supported is every compose attribute hull honours. compose-go reports any other one (the
// allowlist is fail-closed: an attribute the specification gains later is reported too).
var supported = paths(
	"name", "services", "services.*", "volumes", "volumes.*", "volumes.*.name",
	"services.*.image", "services.*.command", "services.*.command.*", "services.*.entrypoint", "services.*.entrypoint.*",
	"services.*.environment", "services.*.environment.*", "services.*.env_file", "services.*.env_file.*", "services.*.env_file.*.*",
	"services.*.working_dir", "services.*.user", "services.*.hostname",
	"services.*.ports", "services.*.ports.*", "services.*.ports.*.target", "services.*.ports.*.published",
	"services.*.ports.*.protocol", "services.*.ports.*.host_ip", "services.*.ports.*.mode",
	"services.*.volumes", "services.*.volumes.*", "services.*.volumes.*.type", "services.*.volumes.*.source",
	"services.*.volumes.*.target", "services.*.volumes.*.read_only", "services.*.volumes.*.bind", "services.*.volumes.*.bind.create_host_path", "services.*.volumes.*.volume",
	"services.*.volumes.*.tmpfs", "services.*.volumes.*.tmpfs.size",
	"services.*.tmpfs", "services.*.tmpfs.*", "services.*.read_only", "services.*.cap_add", "services.*.cap_add.*",
	"services.*.cap_drop", "services.*.cap_drop.*", "services.*.stop_signal", "services.*.stop_grace_period",
	"services.*.restart", "services.*.healthcheck", "services.*.healthcheck.test", "services.*.healthcheck.test.*",
	"services.*.healthcheck.interval", "services.*.healthcheck.timeout", "services.*.healthcheck.retries",
	"services.*.healthcheck.start_period", "services.*.healthcheck.disable",
	"services.*.depends_on", "services.*.depends_on.*", "services.*.depends_on.*.condition", "services.*.depends_on.*.required",
	"services.*.logging", "services.*.logging.driver", "services.*.logging.options", "services.*.logging.options.max-size",
	"services.*.logging.options.max-file",
	"services.*.deploy", "services.*.deploy.replicas", "services.*.deploy.mode",
	"services.*.deploy.resources", "services.*.deploy.resources.limits", "services.*.deploy.resources.reservations",
	"services.*.deploy.resources.*.cpus", "services.*.deploy.resources.*.memory", "services.*.deploy.resources.*.pids",
	"services.*.deploy.restart_policy", "services.*.deploy.restart_policy.condition", "services.*.deploy.restart_policy.delay",
	"services.*.deploy.restart_policy.max_attempts", "services.*.deploy.restart_policy.window",
	"services.*.deploy.update_config", "services.*.deploy.update_config.*", "services.*.deploy.rollback_config",
	"services.*.deploy.rollback_config.*", "services.*.deploy.placement", "services.*.deploy.placement.constraints",
	"services.*.deploy.placement.constraints.*", "services.*.deploy.placement.preferences",
	"services.*.deploy.placement.preferences.*", "services.*.deploy.placement.preferences.*.spread",
	"services.*.deploy.placement.max_replicas_per_node",
	// Harmless when ignored: reported as warnings below.
	"services.*.labels", "services.*.labels.*", "services.*.container_name", "services.*.networks", "services.*.networks.*",
	"services.*.stdin_open", "services.*.tty", "services.*.init", "services.*.pull_policy", "services.*.platform",
	"services.*.deploy.labels", "services.*.deploy.labels.*", "services.*.deploy.endpoint_mode",
	"networks", "networks.*", "networks.*.*", "version",
)

// ignored are the supported paths hull accepts but does not act on, with why.
var ignored = map[string]string{
	"labels":                "labels are not used",
	"container_name":        "replicas are named <project>-<service>-<slot>",
	"networks":              "every replica joins the project's one network",
	"stdin_open":            "replicas have no stdin",
	"tty":                   "replicas write to log files, not a terminal",
	"init":                  "no init process is injected",
	"pull_policy":           "images are never pulled by the supervisor",
	"platform":              "only the host's platform runs",
	"deploy.labels":         "labels are not used",
	"deploy.endpoint_mode":  "hull balances in the kernel (nftables DNAT)",
	"logging.driver":        "logs always go to rotated files",
	"top-level networks":    "every replica joins the project's one network",
	"healthcheck.disable":   "",
	"volumes.*.name":        "",
	"depends_on.*.required": "",
}

func paths(ps ...string) []tree.Path {
	out := make([]tree.Path, len(ps))
	for i, p := range ps {
		out[i] = tree.Path(p)
	}
	return out
}

// Load reads a compose file with compose-go (interpolation, env_file, extends, profiles and the
// schema are theirs) and converts it to a Project. Attributes hull does not support are an error
// naming each; ones it can safely ignore come back as warnings. Nothing is applied here, so a file
// with errors changes nothing.
func Load(ctx context.Context, o LoadOptions) (*Project, []string, error) {
	var unsupported []loader.UnsupportedAttribute
	opts := []cli.ProjectOptionsFn{
		cli.WithDotEnv,
		cli.WithLoadOptions(loader.WithSupportedAttributes(supported, func(u []loader.UnsupportedAttribute) { unsupported = u })),
	}
	if o.ProjectName != "" {
		opts = append(opts, cli.WithName(o.ProjectName))
	}
	if o.Env != nil {
		opts = append(opts, cli.WithEnv(o.Env))
	}
	po, err := cli.NewProjectOptions([]string{o.File}, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", o.File, err)
	}
	cp, err := po.LoadProject(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", o.File, err)
	}
	if len(unsupported) > 0 {
		names := make([]string, len(unsupported))
		for i, u := range unsupported {
			names[i] = string(u.Path)
		}
		return nil, nil, fmt.Errorf("%s: not supported by hull: %s", o.File, strings.Join(names, ", "))
	}
	return convert(cp, o)
}

// convert turns compose-go's project into hull's, collecting every error rather than the first.
func convert(cp *types.Project, o LoadOptions) (*Project, []string, error) {
	p := &Project{Name: cp.Name, Dir: cp.WorkingDir, Services: map[string]*Service{}}
	var warns []string
	var errs []error
	if len(cp.Networks) > 0 {
		// compose-go adds "default" itself; anything else was declared by the user.
		for name := range cp.Networks {
			if name != "default" {
				warns = append(warns, fmt.Sprintf("networks.%s: ignored: %s", name, ignored["top-level networks"]))
			}
		}
	}
	for _, name := range sortedKeys(cp.Services) {
		cs := cp.Services[name]
		s, w, err := convertService(cp, cs, o)
		for _, x := range w {
			warns = append(warns, fmt.Sprintf("services.%s.%s", name, x))
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("services.%s: %w", name, err))
			continue
		}
		p.Services[name] = s
	}
	for _, s := range p.Services {
		for dep := range s.DependsOn {
			if _, ok := p.Services[dep]; !ok && len(errs) == 0 {
				errs = append(errs, fmt.Errorf("services.%s.depends_on: unknown service %q", s.Name, dep))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, warns, fmt.Errorf("%s: %w", o.File, err)
	}
	if len(p.Services) == 0 {
		return nil, warns, fmt.Errorf("%s: no services", o.File)
	}
	sort.Strings(warns)
	return p, warns, nil
}

func convertService(cp *types.Project, cs types.ServiceConfig, o LoadOptions) (*Service, []string, error) {
	var warns []string
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	s := &Service{
		Name: cs.Name, Image: cs.Image, WorkingDir: cs.WorkingDir, User: cs.User, Hostname: cs.Hostname,
		ReadOnly: cs.ReadOnly, CapAdd: cs.CapAdd, CapDrop: cs.CapDrop, StopSignal: cs.StopSignal,
		StopGrace: 10 * time.Second, Replicas: 1, Backoff: DefaultBackoff, Logging: DefaultLogging, Network: true,
		Restart: RestartPolicy{Mode: RestartNo},
	}
	if !validName(cs.Name) {
		bad("service name %q: use letters, digits, '_' and '-' (it names containers and log files)", cs.Name)
	}
	switch {
	case s.Image == "":
		bad("image: missing (hull runs images or rootfs directories; build: is not supported)")
	case strings.HasPrefix(s.Image, "./") || strings.HasPrefix(s.Image, "../") || s.Image == ".":
		// A root filesystem directory next to the compose file.
		s.Image = filepath.Join(cp.WorkingDir, s.Image)
	}
	if cs.Entrypoint != nil {
		s.Entrypoint = []string(cs.Entrypoint)
	}
	if cs.Command != nil {
		s.Command = []string(cs.Command)
	}
	if len(cs.Environment) > 0 {
		s.Env = map[string]string{}
		for k, v := range cs.Environment {
			if v != nil {
				s.Env[k] = *v
			}
		}
	}
	if s.StopSignal == "" {
		s.StopSignal = "SIGTERM"
	} else if _, err := ParseSignal(s.StopSignal); err != nil {
		bad("stop_signal: %v", err)
	}
	if cs.StopGracePeriod != nil {
		s.StopGrace = time.Duration(*cs.StopGracePeriod)
	}
	for _, cp := range cs.Ports {
		port, err := convertPort(cp)
		if err != nil {
			bad("ports: %v", err)
			continue
		}
		s.Ports = append(s.Ports, port)
	}
	for _, v := range cs.Volumes {
		m, err := convertVolume(cp.Name, v, o.VolumesDir)
		if err != nil {
			bad("volumes: %v", err)
			continue
		}
		s.Mounts = append(s.Mounts, m)
	}
	for _, t := range cs.Tmpfs {
		if !filepath.IsAbs(t) {
			bad("tmpfs: %q is not an absolute path", t)
			continue
		}
		s.Mounts = append(s.Mounts, Mount{Type: "tmpfs", Target: t})
	}
	if err := convertRestart(s, cs); err != nil {
		bad("%v", err)
	}
	if hc := cs.HealthCheck; hc != nil && !hc.Disable {
		h, err := convertHealth(hc)
		if err != nil {
			bad("healthcheck: %v", err)
		}
		s.Health = h
	}
	for dep, d := range cs.DependsOn {
		if s.DependsOn == nil {
			s.DependsOn = map[string]string{}
		}
		switch d.Condition {
		case "", types.ServiceConditionStarted, types.ServiceConditionHealthy:
			s.DependsOn[dep] = cmpOr(d.Condition, types.ServiceConditionStarted)
		default:
			bad("depends_on.%s.condition: %q is not supported (service_started or service_healthy)", dep, d.Condition)
		}
	}
	if l := cs.Logging; l != nil {
		if l.Driver != "" && l.Driver != "json-file" && l.Driver != "local" {
			warns = append(warns, fmt.Sprintf("logging.driver: %q ignored: %s", l.Driver, ignored["logging.driver"]))
		}
		if v := l.Options["max-size"]; v != "" {
			n, err := parseBytes(v)
			if err != nil || n <= 0 {
				bad("logging.options.max-size: %q is not a size", v)
			}
			s.Logging.MaxSize = n
		}
		if v := l.Options["max-file"]; v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				bad("logging.options.max-file: %q is not a positive number", v)
			}
			s.Logging.MaxFiles = n
		}
	}
	if d := cs.Deploy; d != nil {
		if d.Mode != "" && d.Mode != "replicated" {
			bad("deploy.mode: %q is not supported (replicated)", d.Mode)
		}
		if d.Replicas != nil {
			s.Replicas = *d.Replicas
		}
		convertResources(s, d.Resources)
		s.Update, s.Rollback = convertUpdate(d.UpdateConfig), convertUpdate(d.RollbackConfig)
		if pl := d.Placement; len(pl.Constraints) > 0 || len(pl.Preferences) > 0 || pl.MaxReplicas > 0 {
			s.Placement = &Placement{Constraints: pl.Constraints, MaxReplicasPerNode: int(pl.MaxReplicas)}
			for _, p := range pl.Preferences {
				s.Placement.Preferences = append(s.Placement.Preferences, p.Spread)
			}
		}
		if len(d.Labels) > 0 {
			warns = append(warns, "deploy.labels: ignored: "+ignored["deploy.labels"])
		}
		if d.EndpointMode != "" {
			warns = append(warns, "deploy.endpoint_mode: ignored: "+ignored["deploy.endpoint_mode"])
		}
	}
	if cs.Scale != nil && (cs.Deploy == nil || cs.Deploy.Replicas == nil) {
		s.Replicas = *cs.Scale
	}
	if s.Replicas < 0 {
		bad("deploy.replicas: %d is negative", s.Replicas)
	}
	for key, why := range map[string]bool{
		"labels": len(cs.Labels) > 0, "container_name": cs.ContainerName != "", "networks": len(cs.Networks) > 1 || len(cs.Networks) == 1 && !hasKey(cs.Networks, "default"),
		"stdin_open": cs.StdinOpen, "tty": cs.Tty, "init": cs.Init != nil, "pull_policy": cs.PullPolicy != "",
		"platform": cs.Platform != "",
	} {
		if why {
			warns = append(warns, key+": ignored: "+ignored[key])
		}
	}
	if len(s.Ports) > 0 {
		s.Drain = DefaultDrain
	}
	if x, ok := cs.Extensions["x-hull"]; ok {
		if err := applyXHull(s, x); err != nil {
			bad("x-hull: %v", err)
		}
	}
	if a := s.Autoscale; a != nil && a.Max >= a.Min {
		s.Replicas = min(max(s.Replicas, a.Min), a.Max) // deploy.replicas is where it starts
	}
	return s, warns, errors.Join(errs...)
}

func convertPort(cp types.ServicePortConfig) (Port, error) {
	p := Port{Target: uint16(cp.Target), Protocol: cmpOr(cp.Protocol, "tcp"), HostIP: cp.HostIP}
	if cp.Target == 0 || cp.Target > 65535 {
		return p, fmt.Errorf("target port %d is out of range", cp.Target)
	}
	if p.Protocol != "tcp" && p.Protocol != "udp" {
		return p, fmt.Errorf("protocol %q is not supported (tcp or udp)", p.Protocol)
	}
	if cp.Mode == "host" {
		return p, errors.New(`mode "host" is not supported: published ports are balanced across replicas (ingress)`)
	}
	if cp.Published == "" {
		return p, fmt.Errorf("port %d: a published port is needed (hull does not pick random ones)", cp.Target)
	}
	if strings.Contains(cp.Published, "-") {
		return p, fmt.Errorf("published range %q is not supported", cp.Published)
	}
	n, err := strconv.ParseUint(cp.Published, 10, 16)
	if err != nil || n == 0 {
		return p, fmt.Errorf("published port %q is not a port", cp.Published)
	}
	p.Published = uint16(n)
	return p, nil
}

func convertVolume(project string, v types.ServiceVolumeConfig, volumesDir string) (Mount, error) {
	m := Mount{Type: v.Type, Target: v.Target, ReadOnly: v.ReadOnly}
	if !filepath.IsAbs(v.Target) {
		return m, fmt.Errorf("target %q is not an absolute path", v.Target)
	}
	switch v.Type {
	case types.VolumeTypeBind:
		if !filepath.IsAbs(v.Source) {
			return m, fmt.Errorf("bind source %q is not an absolute path", v.Source)
		}
		m.Source = v.Source
	case types.VolumeTypeVolume:
		if v.Source == "" {
			return m, fmt.Errorf("anonymous volume at %s: name it (top-level volumes:)", v.Target)
		}
		if !validName(v.Source) {
			return m, fmt.Errorf("volume name %q: use letters, digits, '_' and '-'", v.Source)
		}
		if volumesDir == "" {
			volumesDir = "/var/lib/hull/volumes"
		}
		m.Source = filepath.Join(volumesDir, project+"_"+v.Source)
	case types.VolumeTypeTmpfs:
		if v.Tmpfs != nil {
			m.Size = int64(v.Tmpfs.Size)
		}
	default:
		return m, fmt.Errorf("type %q is not supported (bind, volume, tmpfs)", v.Type)
	}
	return m, nil
}

func convertRestart(s *Service, cs types.ServiceConfig) error {
	switch r := cs.Restart; {
	case r == "" || r == "no":
	case r == "always", r == "unless-stopped":
		s.Restart.Mode = RestartMode(r)
	case r == "on-failure" || strings.HasPrefix(r, "on-failure:"):
		s.Restart.Mode = RestartOnFailure
		if n, ok := strings.CutPrefix(r, "on-failure:"); ok {
			v, err := strconv.Atoi(n)
			if err != nil || v < 0 {
				return fmt.Errorf("restart: %q: the count is not a number", r)
			}
			s.Restart.MaxAttempts = v
		}
	default:
		return fmt.Errorf("restart: %q is not one of no, always, on-failure[:N], unless-stopped", r)
	}
	if cs.Deploy == nil || cs.Deploy.RestartPolicy == nil {
		return nil
	}
	rp := cs.Deploy.RestartPolicy
	switch rp.Condition {
	case "none":
		s.Restart.Mode = RestartNo
	case "on-failure":
		s.Restart.Mode = RestartOnFailure
	case "any", "":
		s.Restart.Mode = RestartAlways
	default:
		return fmt.Errorf("deploy.restart_policy.condition: %q is not one of none, on-failure, any", rp.Condition)
	}
	if rp.Delay != nil {
		s.Backoff.Initial = time.Duration(*rp.Delay) // Swarm's delay between attempts starts the backoff
	}
	if rp.MaxAttempts != nil {
		s.Restart.MaxAttempts = int(*rp.MaxAttempts)
	}
	if rp.Window != nil {
		s.Restart.Window = time.Duration(*rp.Window)
	}
	return nil
}

// Docker's healthcheck defaults: 30 s interval, 30 s timeout, 3 retries, no start period.
func convertHealth(hc *types.HealthCheckConfig) (*HealthCheck, error) {
	h := &HealthCheck{Kind: ProbeExec, Interval: 30 * time.Second, Timeout: 30 * time.Second, Retries: 3}
	if hc.Interval != nil {
		h.Interval = time.Duration(*hc.Interval)
	}
	if hc.Timeout != nil {
		h.Timeout = time.Duration(*hc.Timeout)
	}
	if hc.Retries != nil {
		h.Retries = int(*hc.Retries)
	}
	if hc.StartPeriod != nil {
		h.StartPeriod = time.Duration(*hc.StartPeriod)
	}
	t := hc.Test
	switch {
	case len(t) == 0:
		return nil, errors.New("test: missing")
	case t[0] == "NONE":
		return nil, nil
	case t[0] == "CMD" && len(t) > 1:
		h.Command = t[1:]
	case t[0] == "CMD-SHELL" && len(t) == 2:
		h.Command = []string{"/bin/sh", "-c", t[1]}
	default:
		return nil, fmt.Errorf("test: %q: start with CMD, CMD-SHELL or NONE", t)
	}
	return h, checkHealth(h)
}

func checkHealth(h *HealthCheck) error {
	if h.Interval <= 0 || h.Timeout <= 0 {
		return errors.New("interval and timeout must be positive")
	}
	if h.Retries < 1 {
		h.Retries = 1
	}
	return nil
}

func convertResources(s *Service, r types.Resources) {
	if l := r.Limits; l != nil {
		s.Resources.CPUs, s.Resources.Memory, s.Resources.Pids = float64(l.NanoCPUs), int64(l.MemoryBytes), l.Pids
	}
	if rv := r.Reservations; rv != nil {
		s.Resources.ReserveCPUs, s.Resources.ReserveMemory = float64(rv.NanoCPUs), int64(rv.MemoryBytes)
	}
}

func convertUpdate(u *types.UpdateConfig) *UpdateConfig {
	if u == nil {
		return nil
	}
	c := &UpdateConfig{Parallelism: 1, Delay: time.Duration(u.Delay), FailureAction: u.FailureAction,
		Monitor: time.Duration(u.Monitor), MaxFailureRatio: float64(u.MaxFailureRatio), Order: u.Order}
	if u.Parallelism != nil {
		c.Parallelism = int(*u.Parallelism)
	}
	return c
}

// parseBytes reads Docker's sizes: 10m, 512k, 1g, 1gb, or plain bytes.
func parseBytes(v string) (int64, error) {
	v = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(v)), "b")
	mult := int64(1)
	if n := len(v); n > 0 {
		switch v[n-1] {
		case 'k':
			mult = 1 << 10
		case 'm':
			mult = 1 << 20
		case 'g':
			mult = 1 << 30
		}
		if mult > 1 {
			v = v[:n-1]
		}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, err
	}
	return n * mult, nil
}

// validName keeps service and volume names usable in container ids, paths and cgroup names.
func validName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func hasKey[V any](m map[string]V, k string) bool {
	_, ok := m[k]
	return ok
}
