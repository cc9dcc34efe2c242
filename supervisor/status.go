package supervisor

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// ServiceStatus is one row of `hull service ls`, and with Replicas the body of `ps`.
type ServiceStatus struct {
	Project  string          `json:"project"`
	Service  string          `json:"service"`
	Image    string          `json:"image"`
	Desired  int             `json:"desired"`
	Running  int             `json:"running"`
	Ready    int             `json:"ready"`
	Ports    []Port          `json:"ports,omitempty"`
	GaveUp   string          `json:"gaveUp,omitempty"`
	Revision string          `json:"revision,omitempty"`
	Update   *Rollout        `json:"update,omitempty"`
	Replicas []ReplicaStatus `json:"replicas,omitempty"`
}

// ReplicaStatus is one row of `hull service ps`.
type ReplicaStatus struct {
	Name       string    `json:"name"`
	ID         string    `json:"id"`
	Revision   string    `json:"revision,omitempty"`
	State      string    `json:"state"`
	Health     string    `json:"health"`
	Pid        int       `json:"pid,omitempty"`
	Address    string    `json:"address,omitempty"`
	CPUs       string    `json:"cpus,omitempty"` // its cpuset (x-hull placement)
	Started    time.Time `json:"started,omitzero"`
	Restarts   int       `json:"restarts"`
	NextStart  time.Time `json:"nextStart,omitzero"`
	LastExit   *Exit     `json:"lastExit,omitempty"`
	StopReason string    `json:"stopReason,omitempty"`
	Reason     string    `json:"reason,omitempty"` // why a pending slot has no replica
}

// Inspection is `hull service inspect`: the desired service and everything known about it.
type Inspection struct {
	ServiceStatus
	Spec  *Service      `json:"spec"`
	Slots map[int]*Slot `json:"slots"`
}

// Services lists every desired service.
func (s *Supervisor) Services() []ServiceStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []ServiceStatus
	for _, k := range s.keysLocked() {
		if s.serviceLocked(k) != nil {
			out = append(out, s.statusLocked(k))
		}
	}
	return out
}

// Inspect describes one service.
func (s *Supervisor) Inspect(k string) (*Inspection, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	svc := s.serviceLocked(k)
	if svc == nil {
		return nil, fmt.Errorf("no service %s", k)
	}
	return &Inspection{ServiceStatus: s.statusLocked(k), Spec: svc, Slots: s.stateLocked(k).Slots}, nil
}

func (s *Supervisor) statusLocked(k string) ServiceStatus {
	p, n := splitKey(k)
	svc := s.serviceLocked(k)
	st := s.stateLocked(k)
	ss := ServiceStatus{Project: p, Service: n, GaveUp: st.GaveUp}
	if svc != nil {
		ss.Image, ss.Desired, ss.Ports, ss.Revision = svc.Image, svc.Replicas, svc.Ports, svc.Revision()
	}
	if st.Rollout != nil {
		ro := *st.Rollout
		ss.Update = &ro
	}
	shown := map[int]bool{}
	for _, r := range s.replicas {
		if key(r.Project, r.Service) != k {
			continue
		}
		if r.State == Running {
			ss.Running++
		}
		if r.ready() {
			ss.Ready++
		}
		sl := st.slot(r.Slot)
		shown[r.Slot] = true
		ss.Replicas = append(ss.Replicas, ReplicaStatus{Name: r.Name(), ID: r.ID, Revision: r.Revision, State: string(r.State),
			Health: string(r.Health.Status), Pid: r.Pid, Address: r.Address, CPUs: r.CPUs, Started: r.Started,
			Restarts: sl.Attempts, LastExit: sl.LastExit, StopReason: r.StopReason})
	}
	for n := 1; n <= ss.Desired; n++ {
		if shown[n] {
			continue
		}
		// An empty slot: backing off, done, or given up. ps shows it with its last exit.
		sl := st.slot(n)
		state, why := "pending", st.Pending[n]
		switch {
		case st.GaveUp != "":
			state = "gave up"
		case sl.Done:
			state = "exited"
		case !sl.NextStart.IsZero():
			state = "backoff"
		}
		ss.Replicas = append(ss.Replicas, ReplicaStatus{Name: fmt.Sprintf("%s-%d", n2(k), n), State: state,
			Restarts: sl.Attempts, NextStart: sl.NextStart, LastExit: sl.LastExit, Reason: why})
	}
	sort.Slice(ss.Replicas, func(i, j int) bool {
		if ss.Replicas[i].Name != ss.Replicas[j].Name {
			return ss.Replicas[i].Name < ss.Replicas[j].Name
		}
		return ss.Replicas[i].ID < ss.Replicas[j].ID
	})
	return ss
}

func n2(k string) string { _, n := splitKey(k); return n }

// Logs writes a service's replica logs, each line prefixed with its replica's name; with follow
// it keeps writing what is appended until ctx ends. project "" with service "" means every
// service of project... see FollowProject.
func (s *Supervisor) Logs(ctx context.Context, k string, follow bool, w io.Writer) error {
	p, n := splitKey(k)
	return s.tail(ctx, filepath.Join(s.cfg.LogDir, p), n+".", follow, w)
}

// FollowProject streams the logs of every service of a project (hull up in the foreground).
func (s *Supervisor) FollowProject(ctx context.Context, project string, w io.Writer) error {
	return s.tail(ctx, filepath.Join(s.cfg.LogDir, project), "", true, w)
}

// tail reads the .log files in dir whose names start with prefix; following, it reads again
// whenever inotify says the directory changed (logWatch), noticing new files and rotations (a
// file that shrank is read from its start again).
func (s *Supervisor) tail(ctx context.Context, dir, prefix string, follow bool, w io.Writer) error {
	var watch *logWatch
	if follow {
		// Made before the first read, so nothing written between that read and the watch is missed.
		watch = newLogWatch(dir)
		defer watch.close()
	}
	offsets := map[string]int64{}
	partial := map[string]string{}
	for {
		files, _ := filepath.Glob(filepath.Join(dir, prefix+"*.log"))
		sort.Strings(files)
		for _, f := range files {
			name := strings.TrimSuffix(filepath.Base(f), ".log")
			name = strings.Replace(name, ".", "-", 1)
			fh, err := os.Open(f)
			if err != nil {
				continue
			}
			st, err := fh.Stat()
			if err == nil && st.Size() < offsets[f] {
				offsets[f] = 0 // rotated (truncated)
			}
			if _, err := fh.Seek(offsets[f], io.SeekStart); err == nil {
				br := bufio.NewReader(fh)
				for {
					line, err := br.ReadString('\n')
					offsets[f] += int64(len(line))
					if line != "" && strings.HasSuffix(line, "\n") {
						fmt.Fprintf(w, "%s | %s", name, partial[f]+line)
						partial[f] = ""
					} else if line != "" {
						partial[f] += line
					}
					if err != nil {
						break
					}
				}
			}
			fh.Close()
		}
		if fl, ok := w.(interface{ Flush() }); ok {
			fl.Flush()
		}
		if !follow {
			return nil
		}
		// When ctx ends, one last pass reads what was written meanwhile.
		follow = watch.wait(ctx)
	}
}

// Subscribe streams events: the recent ones first, then new ones until ctx ends.
func (s *Supervisor) Subscribe(ctx context.Context, fn func(Event) error) error {
	recent, c, cancel := s.bus.subscribe()
	defer cancel()
	for _, e := range recent {
		if err := fn(e); err != nil {
			return err
		}
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case e := <-c:
			if err := fn(e); err != nil {
				return err
			}
		}
	}
}
