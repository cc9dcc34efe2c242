package runtime

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/mailru/easyjson/jlexer"
	"github.com/mailru/easyjson/jwriter"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hullrt/hull/runtime/specjson"
)

// ErrNotExist is returned for an unknown container id. Its text is what containerd's shim and
// podman look for ("does not exist").
var ErrNotExist = errors.New("does not exist")

// idChars is runc's rule for container ids, which become directory and cgroup names:
// `^[\w+\-.]+$` (ASCII letters, digits, _ + - .), written out because a regexp compiled at
// package init costs every hull process, the container's init included, its start-up time.
func idChars(id string) bool {
	for i := 0; i < len(id); i++ {
		switch c := id[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '_', c == '+', c == '-', c == '.':
		default:
			return false
		}
	}
	return id != ""
}

func checkID(id string) error {
	if id == "" {
		return errors.New("container id cannot be empty")
	}
	if !idChars(id) || id == "." || id == ".." {
		return fmt.Errorf("invalid container id %q", id)
	}
	return nil
}

func (r *Runtime) dir(id string) string       { return filepath.Join(r.Root, id) }
func (r *Runtime) stateFile(id string) string { return filepath.Join(r.Root, id, "state.json") }
func (r *Runtime) fifo(id string) string      { return filepath.Join(r.Root, id, "exec.fifo") }

// load reads a container's state file.
func (r *Runtime) load(id string) (*State, error) {
	b, err := r.readState(id)
	if err != nil {
		return nil, err
	}
	f := stateFile{State: &State{}}
	l := jlexer.Lexer{Data: b}
	f.UnmarshalEasyJSON(&l)
	if err := l.Error(); err != nil {
		return nil, fmt.Errorf("parse state of %s: %w", id, err)
	}
	if len(f.Spec) > 0 && string(f.Spec) != "null" {
		f.State.Spec = new(specs.Spec)
		if err := specjson.Unmarshal(f.Spec, f.State.Spec); err != nil {
			return nil, fmt.Errorf("parse state of %s: %w", id, err)
		}
	}
	return f.State, nil
}

// readState reads a container's state file as it is.
func (r *Runtime) readState(id string) ([]byte, error) {
	if err := checkID(id); err != nil {
		return nil, err
	}
	b, err := readFile(r.stateFile(id))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("container %q %w", id, ErrNotExist)
	}
	if err != nil {
		return nil, fmt.Errorf("read state of %s: %w", id, err)
	}
	return b, nil
}

func (r *Runtime) decodeState(id string, v any) error {
	b, err := r.readState(id)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("parse state of %s: %w", id, err)
	}
	return nil
}

// briefSpec is the part of the saved spec that state, list, kill, pids, start and delete read.
// Decoding the whole spec costs ≈0.65 ms in a fresh process (encoding/json builds its field
// tables for each of the spec's struct types the first time it meets one), 20× a warm decode,
// and every hull command is a fresh process.
type briefSpec struct {
	Version     string            `json:"ociVersion"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Hooks       *specs.Hooks      `json:"hooks,omitempty"`
	Process     json.RawMessage   `json:"process,omitempty"`
	Mounts      []specs.Mount     `json:"mounts,omitempty"`
	Linux       *struct {
		Namespaces []specs.LinuxNamespace `json:"namespaces,omitempty"`
	} `json:"linux,omitempty"`
}

// loadBrief reads a container's state like load, except that the spec it returns holds only
// ociVersion, annotations, hooks, mounts and linux.namespaces, and a Process that is empty but
// non-nil when the spec has one. Only for callers that read nothing else of the spec.
func (r *Runtime) loadBrief(id string) (*State, error) {
	var b struct {
		State
		Spec *briefSpec `json:"spec"` // shadows State.Spec
	}
	if err := r.decodeState(id, &b); err != nil {
		return nil, err
	}
	s := b.State
	s.Spec = &specs.Spec{Linux: &specs.Linux{}}
	if b.Spec != nil {
		s.Spec.Version, s.Spec.Annotations, s.Spec.Hooks = b.Spec.Version, b.Spec.Annotations, b.Spec.Hooks
		s.Spec.Mounts = b.Spec.Mounts
		if b.Spec.Linux != nil {
			s.Spec.Linux.Namespaces = b.Spec.Linux.Namespaces
		}
		if len(b.Spec.Process) > 0 && string(b.Spec.Process) != "null" {
			s.Spec.Process = &specs.Process{}
		}
	}
	return &s, nil
}

// save writes the state file with write-temp and rename, so a reader sees the old file or the
// new one, never half of one.
func (r *Runtime) save(s *State) error {
	spec, err := specjson.Marshal(s.Spec)
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	var w jwriter.Writer
	stateFile{State: s, Spec: spec}.MarshalEasyJSON(&w)
	b, err := w.BuildBytes()
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	return writeFileAtomic(r.stateFile(s.ID), b, 0o600)
}

// writeFileAtomic writes path by write-temp and rename. It does not fsync: what it writes
// describes processes, and a crash that could lose the write (power, kernel) ends them too, so
// no file it writes outlives what it describes (runc does not fsync its state either). The
// state root is usually a tmpfs (/run), where fsync does nothing; on a disk it cost ≈0.5 ms.
func writeFileAtomic(path string, b []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	_, err = tmp.Write(b)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), mode)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// lock takes an exclusive flock on the container's directory, so that two hull commands
// never change one container at once (say, start racing delete). Released by the returned func.
func (r *Runtime) lock(id string) (func(), error) {
	if err := checkID(id); err != nil {
		return nil, err
	}
	fd, err := unix.Open(r.dir(id), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENOENT) {
		return nil, fmt.Errorf("container %q %w", id, ErrNotExist)
	}
	if err != nil {
		return nil, fmt.Errorf("open state dir of %s: %w", id, err)
	}
	if err := unix.Flock(fd, unix.LOCK_EX); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("lock %s: %w", id, err)
	}
	return func() { unix.Close(fd) }, nil
}

// locked runs fn on a container's state while holding its lock.
func (r *Runtime) locked(id string, fn func(s *State) error) error {
	return r.lockedWith(r.load, id, fn)
}

// lockedWith is locked with the given loader (load or loadBrief).
func (r *Runtime) lockedWith(load func(string) (*State, error), id string, fn func(s *State) error) error {
	unlock, err := r.lock(id)
	if err != nil {
		return err
	}
	defer unlock()
	s, err := load(id)
	if err != nil {
		return err
	}
	return fn(s)
}

// ids lists the containers under the root.
func (r *Runtime) ids() ([]string, error) {
	ents, err := os.ReadDir(r.Root)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", r.Root, err)
	}
	var out []string
	for _, e := range ents {
		if e.IsDir() && checkID(e.Name()) == nil {
			if _, err := os.Stat(r.stateFile(e.Name())); err == nil {
				out = append(out, e.Name())
			}
		}
	}
	return out, nil
}
