package netns

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// The state directory holds one JSON file per network (its definition), and beside it a
// directory "<network>.leases" with one symlink per lease, "ip-<addr>" → container id.
// symlink(2) creates a name atomically and fails if it exists,
// and its whole content is its target, so a crash never leaves half a lease; creating one
// costs ≈15 µs on ext4, where rewriting a file by write-temp-and-rename costs ≈0.5–2 ms
// (ext4's auto_da_alloc starts writeback of the new file on every rename over an old one),
// more than the rest of an Attach. CNI's host-local IPAM keeps one file per address too.
// Every read-modify-write of the directory happens under flock(2) on a lock file, so hull
// processes started side by side never hand out one address twice. flock locks belong to
// the open file description, so goroutines of one process, each opening the lock file
// afresh, exclude each other just as processes do.

// netState is what one network's file holds.
type netState struct {
	Network
	// Last is the address handed out most recently; allocation continues after it, so
	// a released address is not reused at once (a late packet or a stale conntrack entry
	// for it then reaches nobody rather than the next container).
	// Both live in the leases directory, not in the network's file.
	Last   netip.Addr           `json:"-"`
	Leases map[netip.Addr]lease `json:"-"`
}

type lease struct {
	ContainerID string `json:"containerID"`
	IfName      string `json:"ifname"`
	HostVeth    string `json:"hostVeth"`
}

func (st *netState) attachment(a netip.Addr, l lease) Attachment {
	return Attachment{
		Network:     st.Name,
		ContainerID: l.ContainerID,
		IfName:      l.IfName,
		Addr:        netip.PrefixFrom(a, st.Subnet.Bits()),
		Gateway:     st.Gateway,
		HostVeth:    l.HostVeth,
	}
}

func (st *netState) find(containerID string) (netip.Addr, lease, bool) {
	for a, l := range st.Leases {
		if l.ContainerID == containerID {
			return a, l, true
		}
	}
	return netip.Addr{}, lease{}, false
}

// nextFree returns the first address after last (wrapping around) that is a host address
// of subnet, not the gateway and not leased.
func nextFree(subnet netip.Prefix, gw, last netip.Addr, used map[netip.Addr]lease) (netip.Addr, error) {
	first, end := subnet.Addr().Next(), broadcastOf(subnet)
	a := first
	if last.IsValid() && subnet.Contains(last) {
		a = last.Next()
	}
	for n := uint64(1) << (32 - subnet.Bits()); n > 0; n-- {
		if !a.IsValid() || a.Compare(end) >= 0 {
			a = first
		}
		if _, taken := used[a]; !taken && a != gw {
			return a, nil
		}
		a = a.Next()
	}
	return netip.Addr{}, fmt.Errorf("lease in %v: %w", subnet, ErrExhausted)
}

type ipam struct{ dir string }

// locked runs fn holding the directory's lock.
func (p ipam) locked(fn func() error) error {
	f, err := os.OpenFile(filepath.Join(p.dir, ".lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("open lock: %w", err)
	}
	defer f.Close() // closing the last descriptor releases the lock
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("flock %s: %w", f.Name(), err)
	}
	return fn()
}

func (p ipam) path(name string) string { return filepath.Join(p.dir, name+".json") }

func (p ipam) load(name string) (*netState, error) {
	var st netState
	if err := readJSON(p.path(name), "network "+name, &st); err != nil {
		return nil, err
	}
	st.Leases = map[netip.Addr]lease{}
	ents, err := os.ReadDir(p.leaseDir(name))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	for _, e := range ents {
		a, ok := leaseAddr(e.Name())
		if !ok {
			continue
		}
		id, err := os.Readlink(filepath.Join(p.leaseDir(name), e.Name()))
		if err != nil {
			return nil, err
		}
		st.Leases[a] = lease{ContainerID: id, IfName: ContainerIfName, HostVeth: vethName(name, id)}
	}
	if b, err := os.ReadFile(filepath.Join(p.leaseDir(name), lastFile)); err == nil {
		st.Last, _ = netip.ParseAddr(strings.TrimSpace(string(b)))
	}
	return &st, nil
}

const lastFile = ".last"

func (p ipam) leaseDir(name string) string { return filepath.Join(p.dir, name+".leases") }

// leaseAddr reads the address from a lease entry's name, "ip-<addr>".
func leaseAddr(entry string) (netip.Addr, bool) {
	s, ok := strings.CutPrefix(entry, "ip-")
	if !ok {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(s)
	return a, err == nil
}

// writeLast records the address handed out last, in place: a fixed-width pwrite, no rename
// (see the top of this file). A torn write only changes where the next search starts.
func (p ipam) writeLast(name string, a netip.Addr) error {
	f, err := os.OpenFile(filepath.Join(p.leaseDir(name), lastFile), os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	_, err = f.WriteAt([]byte(fmt.Sprintf("%-15s\n", a)), 0)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// save writes the network's file by write-temp, rename: a crash of a process leaves the
// old file or the new one, never half of one. With durable it also fsyncs first, so the
// file survives the machine crashing; Create and Remove ask for that. Leases do not: they
// describe containers, which do not survive the machine either, and fsync would cost
// ≈0.6 ms of each Attach and Detach (ext4; after a power cut ext4 still replaces a file
// renamed over another whole, and Reconcile reclaims the leases of the dead).
func (p ipam) save(st *netState, durable bool) error {
	b, err := json.MarshalIndent(st, "", "\t")
	if err != nil {
		return err
	}
	dst := p.path(st.Name)
	tmp := dst + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil && durable {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, dst)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", dst, err)
	}
	return nil
}

func (p ipam) remove(name string) error {
	if err := os.Remove(p.path(name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return os.RemoveAll(p.leaseDir(name))
}

// all loads every network, sorted by name.
func (p ipam) all() ([]*netState, error) {
	ents, err := os.ReadDir(p.dir)
	if err != nil {
		return nil, err
	}
	var out []*netState
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || e.IsDir() {
			continue
		}
		st, err := p.load(name)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// lease hands containerID an address of network and records it.
func (p ipam) lease(network string, l lease) (Attachment, error) {
	var a Attachment
	err := p.locked(func() error {
		st, err := p.load(network)
		if err != nil {
			return err
		}
		if _, _, ok := st.find(l.ContainerID); ok {
			return fmt.Errorf("container %s on network %s: %w", l.ContainerID, network, ErrExists)
		}
		addr, err := nextFree(st.Subnet, st.Gateway, st.Last, st.Leases)
		if err != nil {
			return fmt.Errorf("network %s: %w", network, err)
		}
		dir := p.leaseDir(network)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
		if err := os.Symlink(l.ContainerID, filepath.Join(dir, "ip-"+addr.String())); err != nil {
			return fmt.Errorf("lease %v: %w", addr, err)
		}
		if err := p.writeLast(network, addr); err != nil {
			return err
		}
		st.Leases[addr] = lease{ContainerID: l.ContainerID, IfName: ContainerIfName, HostVeth: vethName(network, l.ContainerID)}
		a = st.attachment(addr, st.Leases[addr])
		return nil
	})
	return a, err
}

// release drops containerID's lease on network, if it has one.
func (p ipam) release(network, containerID string) error {
	return p.locked(func() error { return p.releaseLocked(network, containerID) })
}

// releaseLocked is release with the lock held.
func (p ipam) releaseLocked(network, containerID string) error {
	st, err := p.load(network)
	if err != nil {
		return err
	}
	dir := p.leaseDir(network)
	for a, l := range st.Leases {
		if l.ContainerID == containerID {
			if err := os.Remove(filepath.Join(dir, "ip-"+a.String())); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
	}
	return nil
}

// readJSON decodes a network's or a service's file; a missing one is ErrNotFound for what.
func readJSON(path, what string, v any) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("parse %s: %w", path, err)
	}
	return nil
}
