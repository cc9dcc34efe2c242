package supervisor

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeCompose(t *testing.T, body string) string {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, "compose.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadSubset(t *testing.T) {
	f := writeCompose(t, `
name: shop
services:
  web:
    image: ./rootfs
    command: ["/bin/httpd", "-v"]
    environment: {A: "1", B: "two"}
    working_dir: /srv
    user: "1000:1000"
    ports: ["8080:80", "9090:90/udp"]
    volumes: ["data:/data", "/etc/hosts:/etc/hosts:ro", {type: tmpfs, target: /cache, tmpfs: {size: 1048576}}]
    tmpfs: [/run]
    read_only: true
    cap_add: [NET_ADMIN]
    cap_drop: [MKNOD]
    stop_signal: SIGINT
    stop_grace_period: 3s
    restart: on-failure:4
    healthcheck: {test: "wget -q localhost/healthz", interval: 2s, timeout: 1s, retries: 5, start_period: 4s}
    depends_on: {db: {condition: service_healthy}}
    logging: {options: {max-size: 1m, max-file: "2"}}
    deploy:
      replicas: 3
      resources: {limits: {cpus: "0.5", memory: 64M, pids: 100}, reservations: {memory: 32M}}
      update_config: {parallelism: 2, order: start-first}
      placement: {max_replicas_per_node: 2}
    x-hull:
      backoff: {initial: 0s, max: 5s, factor: 3, jitter: 0.2, reset_after: 1m}
      placement: spread
  db:
    image: /abs/rootfs
    deploy: {restart_policy: {condition: any, delay: 2s, max_attempts: 5, window: 1m}}
    x-hull: {probe: {type: tcp, port: 5432}, autoscale: {min: 2, max: 6, target_cpu: 70%, window: 1m}}
volumes:
  data: {}
`)
	p, warns, err := Load(context.Background(), LoadOptions{File: f, VolumesDir: "/vol"})
	if err != nil {
		t.Fatal(err)
	}
	if len(warns) != 0 {
		t.Errorf("warnings: %q", warns)
	}
	w := p.Services["web"]
	dir := filepath.Dir(f)
	checks := []struct {
		name string
		ok   bool
	}{
		{"project", p.Name == "shop"},
		{"image resolved", w.Image == filepath.Join(dir, "rootfs")},
		{"command", strings.Join(w.Command, " ") == "/bin/httpd -v"},
		{"env", w.Env["A"] == "1" && w.Env["B"] == "two"},
		{"ports", len(w.Ports) == 2 && w.Ports[0] == Port{Published: 8080, Target: 80, Protocol: "tcp"} && w.Ports[1].Protocol == "udp"},
		{"mounts", len(w.Mounts) == 4 && w.Mounts[0].Source == "/vol/shop_data" && w.Mounts[1].ReadOnly && w.Mounts[2].Size == 1<<20 && w.Mounts[3].Target == "/run"},
		{"stop", w.StopSignal == "SIGINT" && w.StopGrace == 3*time.Second},
		{"restart", w.Restart == RestartPolicy{Mode: RestartOnFailure, MaxAttempts: 4}},
		{"health", w.Health != nil && w.Health.Kind == ProbeExec && w.Health.Command[0] == "/bin/sh" && w.Health.Retries == 5 && w.Health.StartPeriod == 4*time.Second},
		{"depends", w.DependsOn["db"] == "service_healthy"},
		{"autoscale", *p.Services["db"].Autoscale == Autoscale{Min: 2, Max: 6, TargetCPU: 0.7, Interval: 5 * time.Second, Window: time.Minute} && p.Services["db"].Replicas == 2},
		{"cpu placement", w.CPUPlacement == PlaceSpread && p.Services["db"].CPUPlacement == ""},
		{"logging", w.Logging == Logging{MaxSize: 1 << 20, MaxFiles: 2}},
		{"replicas", w.Replicas == 3},
		{"resources", w.Resources.CPUs == 0.5 && w.Resources.Memory == 64<<20 && w.Resources.Pids == 100 && w.Resources.ReserveMemory == 32<<20},
		{"update", w.Update != nil && w.Update.Parallelism == 2 && w.Update.Order == "start-first"},
		{"placement", w.Placement != nil && w.Placement.MaxReplicasPerNode == 2},
		{"backoff", w.Backoff == Backoff{Initial: 0, Max: 5 * time.Second, Factor: 3, Jitter: 0.2, ResetAfter: time.Minute}},
		{"db restart", p.Services["db"].Restart == RestartPolicy{Mode: RestartAlways, MaxAttempts: 5, Window: time.Minute}},
		{"db delay", p.Services["db"].Backoff.Initial == 2*time.Second},
		{"db probe", p.Services["db"].Health.Kind == ProbeTCP && p.Services["db"].Health.Port == 5432},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("%s: wrong in %+v", c.name, w)
		}
	}
}

func TestLoadRejects(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       []string
	}{
		{"unsupported keys are named", "services:\n  a:\n    image: /x\n    privileged: true\n    sysctls: {a: b}\n    build: .\n",
			[]string{"services.a.build", "services.a.privileged", "services.a.sysctls"}},
		{"unknown deploy key", "services:\n  a:\n    image: /x\n    deploy: {mode: global}\n", []string{"deploy.mode"}},
		{"bad restart", "services:\n  a:\n    image: /x\n    restart: sometimes\n", []string{"restart"}},
		{"x-hull typo", "services:\n  a:\n    image: /x\n    x-hull: {backof: {}}\n", []string{"x-hull", "backof"}},
		{"x-hull autoscale max below min", "services:\n  a:\n    image: /x\n    x-hull: {autoscale: {min: 3, max: 2, target_cpu: 50%}}\n", []string{"autoscale.max"}},
		{"x-hull autoscale no target", "services:\n  a:\n    image: /x\n    x-hull: {autoscale: {min: 1, max: 2}}\n", []string{"autoscale.target_cpu", "missing"}},
		{"x-hull autoscale bad target", "services:\n  a:\n    image: /x\n    x-hull: {autoscale: {max: 2, target_cpu: lots}}\n", []string{"autoscale.target_cpu"}},
		{"x-hull bad placement", "services:\n  a:\n    image: /x\n    x-hull: {placement: random}\n", []string{"placement", "random"}},
		{"x-hull bad duration", "services:\n  a:\n    image: /x\n    x-hull: {backoff: {initial: soon}}\n", []string{"backoff.initial"}},
		{"missing published port", "services:\n  a:\n    image: /x\n    ports: [\"80\"]\n", []string{"published"}},
		{"unknown dependency", "services:\n  a:\n    image: /x\n    depends_on: [b]\n", []string{"b"}},
		{"yaml syntax", "services:\n  a: [\n", []string{"compose.yaml"}},
		{"no image", "services:\n  a:\n    command: [x]\n", []string{"image"}},
		{"anonymous volume", "services:\n  a:\n    image: /x\n    volumes: [/data]\n", []string{"anonymous"}},
		// compose-go's JSON schema (third_party/jsonschema compiles its metaschemas on first use).
		{"schema: wrong type", "services:\n  a:\n    image: [x]\n", []string{"services.a.image must be a string"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Load(context.Background(), LoadOptions{File: writeCompose(t, tc.body), ProjectName: "p"})
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
		})
	}
}

func TestLoadWarnsHarmless(t *testing.T) {
	f := writeCompose(t, "services:\n  a:\n    image: /x\n    labels: {k: v}\n    container_name: foo\n    tty: true\n")
	_, warns, err := Load(context.Background(), LoadOptions{File: f, ProjectName: "p"})
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(warns, "\n")
	for _, k := range []string{"services.a.labels", "services.a.container_name", "services.a.tty"} {
		if !strings.Contains(got, k) {
			t.Errorf("no warning for %s in %q", k, got)
		}
	}
}

// FuzzLoad: a compose file is untrusted input; Load must return an error, never panic.
func FuzzLoad(f *testing.F) {
	f.Add("services:\n  a:\n    image: /x\n    deploy: {replicas: 2}\n")
	f.Add("services:\n  a:\n    image: /x\n    x-hull: {probe: {type: http, port: 80}}\n")
	f.Add("services:\n  a:\n    image: /x\n    healthcheck: {test: [CMD, true]}\n    logging: {options: {max-size: 1k}}\n")
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, body string) {
		p := filepath.Join(dir, "compose.yaml")
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		proj, _, err := Load(context.Background(), LoadOptions{File: p, ProjectName: "fuzz"})
		if err == nil && (proj == nil || len(proj.Services) == 0) {
			t.Fatal("no error and no services")
		}
	})
}
