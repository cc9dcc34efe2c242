package runtime

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hullrt/hull/cgroups"
)

// Event is one line of `hull events`, in runc's shape: {"type":"stats"|"oom","id":...,"data":...}.
type Event struct {
	Type string     `json:"type"`
	ID   string     `json:"id"`
	Data *EventData `json:"data,omitempty"`
}

// EventData holds a container's resource usage, from its cgroup.
type EventData struct {
	CPU struct {
		Usage struct {
			Total  uint64 `json:"total"`
			User   uint64 `json:"user"`
			Kernel uint64 `json:"kernel"`
		} `json:"usage"`
		Throttling struct {
			Periods          uint64 `json:"periods"`
			ThrottledPeriods uint64 `json:"throttledPeriods"`
			ThrottledTime    uint64 `json:"throttledTime"`
		} `json:"throttling"`
	} `json:"cpu"`
	Memory struct {
		Usage struct {
			Usage   uint64 `json:"usage"`
			Max     uint64 `json:"max"`
			Limit   uint64 `json:"limit"`
			Failcnt uint64 `json:"failcnt"`
		} `json:"usage"`
		OOMKills uint64 `json:"oomKills"`
	} `json:"memory"`
	Pids struct {
		Current uint64 `json:"current"`
		Limit   uint64 `json:"limit"`
	} `json:"pids"`
}

func eventData(st *cgroups.Stats) *EventData {
	var d EventData
	d.CPU.Usage.Total, d.CPU.Usage.User, d.CPU.Usage.Kernel = st.CPU.UsageNs, st.CPU.UserNs, st.CPU.SystemNs
	d.CPU.Throttling.Periods, d.CPU.Throttling.ThrottledPeriods, d.CPU.Throttling.ThrottledTime = st.CPU.Periods, st.CPU.ThrottledPeriods, st.CPU.ThrottledNs
	d.Memory.Usage.Usage, d.Memory.Usage.Max, d.Memory.Usage.Limit, d.Memory.Usage.Failcnt = st.Memory.Usage, st.Memory.MaxUsage, st.Memory.Limit, st.Memory.Failcnt
	d.Memory.OOMKills = st.Memory.OOMKills
	d.Pids.Current, d.Pids.Limit = st.Pids.Current, st.Pids.Limit
	return &d
}

// Events writes the container's stats as JSON lines: once with once, otherwise every interval
// until the container stops, plus an "oom" event whenever its OOM-kill count grows. It waits on
// the init's pidfd between samples, so it ends as soon as the container does.
func (r *Runtime) Events(ctx context.Context, id string, interval time.Duration, once bool, w io.Writer) error {
	s, err := r.load(id)
	if err != nil {
		return err
	}
	if r.status(s) == Stopped {
		return fmt.Errorf("container %s is stopped", id)
	}
	cg, err := r.loadCgroup(s)
	if err != nil {
		return err
	}
	pidfd, err := s.pidfd()
	if err != nil {
		return fmt.Errorf("container %s is stopped", id)
	}
	defer unix.Close(pidfd)
	enc := json.NewEncoder(w)
	var oomKills uint64
	for first, exited := true, false; ; first = false {
		st, err := cg.Stats()
		if err != nil {
			return fmt.Errorf("stats of %s: %w", id, err)
		}
		if !first && st.Memory.OOMKills > oomKills {
			if err := enc.Encode(Event{Type: "oom", ID: id}); err != nil {
				return err
			}
		}
		oomKills = st.Memory.OOMKills
		if exited {
			return nil // the last sample, taken after the exit: it reports an OOM kill that ended it
		}
		if err := enc.Encode(Event{Type: "stats", ID: id, Data: eventData(st)}); err != nil {
			return err
		}
		if once {
			return nil
		}
		if exited, err = waitExitFor(pidfd, interval); err != nil {
			return err
		}
		if ctx.Err() != nil {
			return nil
		}
	}
}

// waitExitFor waits up to d for the process behind pidfd to exit.
func waitExitFor(pidfd int, d time.Duration) (bool, error) {
	fds := []unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}
	n, err := unix.Poll(fds, int(d.Milliseconds()))
	if err == unix.EINTR {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("poll pidfd: %w", err)
	}
	return n > 0, nil
}

// Usage samples a container's cgroup once, whatever its status: the supervisor reads it after an
// exit, before delete, to tell an OOM kill (memory.oomKills grew) and the peak against the limit.
func (r *Runtime) Usage(id string) (*EventData, error) {
	s, err := r.load(id)
	if err != nil {
		return nil, err
	}
	cg, err := r.loadCgroup(s)
	if err != nil {
		return nil, err
	}
	st, err := cg.Stats()
	if err != nil {
		return nil, fmt.Errorf("stats of %s: %w", id, err)
	}
	return eventData(st), nil
}
