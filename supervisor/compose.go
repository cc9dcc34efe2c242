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
