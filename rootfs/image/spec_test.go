package image

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func baseSpec() *specs.Spec {
	return &specs.Spec{
		Version: specs.Version,
		Root:    &specs.Root{Path: "rootfs", Readonly: true},
		Process: &specs.Process{Terminal: true, Args: []string{"sh"}, Cwd: "/",
			Env: []string{"PATH=/usr/bin:/bin", "TERM=xterm"}},
		Hostname:    "hull",
		Annotations: map[string]string{"base": "1"},
	}
}

func specContainer(t *testing.T, ic ImageConfig) *Container {
	store := t.TempDir()
	c := &Container{ID: "web-1", Image: "sha256:abc", Ref: "nginx:1", Bundle: filepath.Join(store, "containers", "web-1"), Config: ic}
	c.Rootfs = filepath.Join(c.Bundle, "rootfs")
	if err := os.MkdirAll(filepath.Join(c.Rootfs, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"etc/passwd": "root:x:0:0::/root:/bin/sh\nnginx:x:101:102::/:/bin/false\n",
		"etc/group":  "root:x:0:\nnginx:x:102:\nweb:x:300:nginx,other\n",
	}
	for n, b := range files {
		if err := os.WriteFile(filepath.Join(c.Rootfs, n), []byte(b), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

func TestSpecFromImage(t *testing.T) {
	ic := ImageConfig{Entrypoint: []string{"/docker-entrypoint.sh"}, Cmd: []string{"nginx", "-g", "daemon off;"},
		Env: []string{"PATH=/usr/local/bin:/usr/bin", "NGINX_VERSION=1.27"}, WorkingDir: "/srv", User: "nginx",
		ExposedPorts: map[string]struct{}{"443/tcp": {}, "80/tcp": {}}, Labels: map[string]string{"maintainer": "x"},
		StopSignal: "SIGQUIT"}
	tests := []struct {
		name    string
		o       Overrides
		args    string
		env     string
		cwd     string
		uid     uint32
		gid     uint32
		extra   []uint32
		wantErr string
	}{
		{name: "image defaults", args: "/docker-entrypoint.sh nginx -g daemon off;",
			env: "PATH=/usr/local/bin:/usr/bin NGINX_VERSION=1.27", cwd: "/srv", uid: 101, gid: 102, extra: []uint32{300}},
		{name: "cmd replaces cmd only", o: Overrides{Cmd: []string{"sh"}}, args: "/docker-entrypoint.sh sh",
			env: "PATH=/usr/local/bin:/usr/bin NGINX_VERSION=1.27", cwd: "/srv", uid: 101, gid: 102, extra: []uint32{300}},
		{name: "entrypoint drops cmd", o: Overrides{Entrypoint: []string{"/bin/env"}}, args: "/bin/env",
			env: "PATH=/usr/local/bin:/usr/bin NGINX_VERSION=1.27", cwd: "/srv", uid: 101, gid: 102, extra: []uint32{300}},
		{name: "overrides", o: Overrides{Env: []string{"NGINX_VERSION=2", "A=b"}, User: "0:5", WorkDir: "/tmp", Terminal: true},
			args: "/docker-entrypoint.sh nginx -g daemon off;", env: "PATH=/usr/local/bin:/usr/bin TERM=xterm NGINX_VERSION=2 A=b",
			cwd: "/tmp", uid: 0, gid: 5},
		{name: "numeric unknown user", o: Overrides{User: "4242"}, args: "/docker-entrypoint.sh nginx -g daemon off;",
			env: "PATH=/usr/local/bin:/usr/bin NGINX_VERSION=1.27", cwd: "/srv", uid: 4242, gid: 0},
		{name: "user by name and group by name", o: Overrides{User: "nginx:web"}, args: "/docker-entrypoint.sh nginx -g daemon off;",
			env: "PATH=/usr/local/bin:/usr/bin NGINX_VERSION=1.27", cwd: "/srv", uid: 101, gid: 300},
		{name: "missing user", o: Overrides{User: "ghost"}, wantErr: "no such user"},
		{name: "missing group", o: Overrides{User: "nginx:ghosts"}, wantErr: "no such group"},
		{name: "relative workdir", o: Overrides{WorkDir: "srv"}, wantErr: "not absolute"},
		{name: "bad env", o: Overrides{Env: []string{"NOEQUALS"}}, wantErr: "KEY=VALUE"},
		{name: "no command", o: Overrides{Entrypoint: []string{}}, wantErr: "no Entrypoint or Cmd"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := specContainer(t, ic)
			base := baseSpec()
			s, err := Spec(base, c, tc.o)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			p := s.Process
			if got := strings.Join(p.Args, " "); got != tc.args {
				t.Errorf("args %q want %q", got, tc.args)
			}
			if got := strings.Join(p.Env, " "); got != tc.env {
				t.Errorf("env %q want %q", got, tc.env)
			}
			if p.Cwd != tc.cwd || p.User.UID != tc.uid || p.User.GID != tc.gid || !slices.Equal(p.User.AdditionalGids, tc.extra) {
				t.Errorf("cwd %s user %+v", p.Cwd, p.User)
			}
			if p.Terminal != tc.o.Terminal || s.Root.Path != c.Rootfs || s.Root.Readonly || s.Hostname != "web-1" {
				t.Errorf("terminal %v root %+v hostname %s", p.Terminal, s.Root, s.Hostname)
			}
			a := s.Annotations
			if a["org.opencontainers.image.exposedPorts"] != "443/tcp,80/tcp" || a["org.opencontainers.image.stopSignal"] != "SIGQUIT" ||
				a["maintainer"] != "x" || a["base"] != "1" || a[AnnotationStore] != filepath.Dir(filepath.Dir(c.Bundle)) || a[AnnotationRef] != "nginx:1" {
				t.Errorf("annotations %v", a)
			}
			if base.Process.Args[0] != "sh" || len(base.Process.Env) != 2 || base.Annotations[AnnotationRef] != "" {
				t.Error("Spec changed its base")
			}
		})
	}
}

// An image's /etc/passwd that is a symlink to the host's is read inside the rootfs, not on the host.
func TestUserLookupStaysInRoot(t *testing.T) {
	c := specContainer(t, ImageConfig{Cmd: []string{"x"}})
	passwd := filepath.Join(c.Rootfs, "etc/passwd")
	os.Remove(passwd)
	if err := os.Symlink("/etc/passwd", passwd); err != nil {
		t.Fatal(err)
	}
	// /etc/passwd inside the root is the symlink itself → resolves to <rootfs>/etc/passwd again: a loop, no user.
	if _, err := Spec(baseSpec(), c, Overrides{User: "root"}); err == nil {
		t.Fatal("a user was found through a symlink out of the root")
	}
}
