package v1thread

import (
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// Recorder receives one record per kernel step (cgroups.Recorder has the same method).
type Recorder interface {
	Step(op, args string, err error, took time.Duration)
}

// Join moves the calling OS thread, and only it, into each of dirs (cgroups.ThreadJoiner's
// ThreadDirs) by writing "0" to its tasks file. The caller must have locked the thread
// (runtime.LockOSThread) for good: Go then creates its new threads from a template thread, never
// from this one, so they stay where they were and the thread it locked is the only one the
// limits apply to. rec may be nil.
func Join(dirs []string, rec Recorder) error {
	for _, d := range dirs {
		t0 := time.Now()
		err := writeTasks(d + "/tasks")
		if rec != nil {
			rec.Step("cgroup.write", "tasks=0 in "+d, err, time.Since(t0)) // 0: the writing thread
		}
		if err != nil {
			return fmt.Errorf("join cgroup %s: write 0 to tasks: %w", d, err)
		}
	}
	return nil
}

func writeTasks(p string) error {
	fd, err := unix.Open(p, unix.O_WRONLY|unix.O_TRUNC|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	_, err = unix.Write(fd, []byte("0"))
	return err
}
