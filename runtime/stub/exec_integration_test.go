//go:build integration

package stub

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// These tests change uid and drop capabilities, so they need root.

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("integration tests need root")
	}
}

func capMask(caps ...int) uint64 {
	var m uint64
	for _, c := range caps {
		m |= 1 << c
	}
	return m
}

// statusOf runs cat /proc/self/status through the stub with p's identity.
func statusOf(t *testing.T, p Program) map[string]string {
	t.Helper()
	p.Path, p.Argv = "/bin/cat", []string{"cat", "/proc/self/status"}
	got := run(t, helperRequest{Program: p})
	if got.code != 0 || got.stderr != "" {
		t.Fatalf("cat: %+v", got)
	}
	return parseStatus(got.stdout)
}

func checkStatus(t *testing.T, st map[string]string, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if st[k] != v {
			t.Errorf("%s: got %q, want %q", k, st[k], v)
		}
	}
}

func hex16(m uint64) string { return fmt.Sprintf("%016x", m) }

// A non-root user keeps exactly the ambient capabilities across its execve:
// that is how an OCI config grants caps to a non-root process.
func TestExecUserWithAmbientCaps(t *testing.T) {
	requireRoot(t)
	nbs := capMask(unix.CAP_NET_BIND_SERVICE)
	bnd := nbs | capMask(unix.CAP_CHOWN, unix.CAP_KILL)
	st := statusOf(t, Program{
		UID: 1000, GID: 1000, AdditionalGids: []uint32{1000, 2000},
		Caps: Caps{Bounding: bnd, Effective: nbs, Permitted: nbs, Inheritable: nbs, Ambient: nbs},
	})
	checkStatus(t, st, map[string]string{
		"Uid": "1000\t1000\t1000\t1000", "Gid": "1000\t1000\t1000\t1000", "Groups": "1000 2000",
		"CapBnd": hex16(bnd), "CapInh": hex16(nbs), "CapPrm": hex16(nbs), "CapEff": hex16(nbs), "CapAmb": hex16(nbs),
		"NoNewPrivs": "0",
	})
}

func TestExecUserWithoutCaps(t *testing.T) {
	requireRoot(t)
	st := statusOf(t, Program{UID: 1000, GID: 1000, NoNewPrivileges: true})
	checkStatus(t, st, map[string]string{
		"Uid": "1000\t1000\t1000\t1000", "Gid": "1000\t1000\t1000\t1000", "Groups": "",
		"CapBnd": hex16(0), "CapInh": hex16(0), "CapPrm": hex16(0), "CapEff": hex16(0), "CapAmb": hex16(0),
		"NoNewPrivs": "1",
	})
}

// Root keeps uid 0 but only the capabilities the bounding set leaves it.
func TestExecRootWithFewerCaps(t *testing.T) {
	requireRoot(t)
	few := capMask(unix.CAP_CHOWN, unix.CAP_NET_BIND_SERVICE)
	st := statusOf(t, Program{KeepIdentity: true, Caps: Caps{Bounding: few, Effective: few, Permitted: few}})
	checkStatus(t, st, map[string]string{
		"Uid": "0\t0\t0\t0", "CapBnd": hex16(few), "CapPrm": hex16(few), "CapEff": hex16(few), "CapAmb": hex16(0),
	})
}

// SkipSetgroups leaves the groups the caller had, for user namespaces that deny setgroups.
func TestExecSkipSetgroups(t *testing.T) {
	requireRoot(t)
	ours, err := status("self")
	if err != nil {
		t.Fatal(err)
	}
	st := statusOf(t, Program{UID: 1000, GID: 1000, AdditionalGids: []uint32{2000}, SkipSetgroups: true})
	checkStatus(t, st, map[string]string{"Uid": "1000\t1000\t1000\t1000", "Groups": ours["Groups"]})
}

// Without no_new_privs the filter must go in while the stub still has
// CAP_SYS_ADMIN, before it drops to uid 1000; it still applies afterwards.
func TestExecSeccompWithoutNoNewPrivs(t *testing.T) {
	requireRoot(t)
	got := run(t, helperRequest{Program: Program{
		Path: "/bin/sh",
		Argv: []string{"sh", "-c", `mkdir /nonexistent-hull-test/x 2>&1; grep -E '^(Uid|NoNewPrivs|Seccomp):' /proc/self/status`},
		Env:  []string{"LC_ALL=C"},
		UID:  1000, GID: 1000, Seccomp: denyMkdir(),
	}})
	for _, want := range []string{"Operation not permitted", "Uid:\t1000\t", "NoNewPrivs:\t0", "Seccomp:\t2"} {
		if !strings.Contains(got.stdout, want) {
			t.Errorf("stdout %q lacks %q (stderr %q)", got.stdout, want, got.stderr)
		}
	}
}
