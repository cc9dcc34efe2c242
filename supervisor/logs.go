package supervisor

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
)

// A replica's stdout and stderr go straight to a file the container holds open (O_APPEND), never
// to a pipe the daemon reads: a dead daemon cannot block or break a container's writes.
// Rotation is copy-then-truncate, the only way to rotate a file whose writer is not ours: the
// writer's O_APPEND writes land at the new end of the truncated file. A line written between the
// copy and the truncate can be lost; that is the price of no pipe.

// logPath is one slot's log: generations of a slot share it, so `logs` shows a crash and the restart.
func logPath(dir, project, service string, slot int) string {
	return filepath.Join(dir, project, fmt.Sprintf("%s.%d.log", service, slot))
}

// openLog opens the log for a new replica's stdout and stderr.
func openLog(path string) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("log dir: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("log file: %w", err)
	}
	return f, nil
}

// rotate keeps at most files files (path, path.1 … path.<files-1>) once path passes maxSize.
func rotate(path string, maxSize int64, files int) (bool, error) {
	st, err := os.Stat(path)
	if err != nil || st.Size() < maxSize {
		return false, nil
	}
	if files <= 1 {
		return true, os.Truncate(path, 0)
	}
	os.Remove(path + "." + strconv.Itoa(files-1))
	for i := files - 2; i >= 1; i-- {
		os.Rename(path+"."+strconv.Itoa(i), path+"."+strconv.Itoa(i+1))
	}
	src, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer src.Close()
	dst, err := os.OpenFile(path+".1", os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return false, err
	}
	_, err = io.Copy(dst, src) // copy_file_range on Linux: no bytes through user space
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return false, fmt.Errorf("rotate %s: %w", path, err)
	}
	return true, os.Truncate(path, 0)
}

// rotateLogs rotates every live replica's log past its service's size.
func (s *Supervisor) rotateLogs() {
	if s.cfg.LogDir == "" {
		return
	}
	type job struct {
		path string
		l    Logging
	}
	var jobs []job
	s.mu.Lock()
	seen := map[string]bool{}
	for _, r := range s.replicas {
		svc := s.serviceLocked(key(r.Project, r.Service))
		path := logPath(s.cfg.LogDir, r.Project, r.Service, r.Slot)
		if svc == nil || seen[path] {
			continue
		}
		seen[path] = true
		jobs = append(jobs, job{path, svc.Logging})
	}
	s.mu.Unlock()
	for _, j := range jobs {
		if _, err := rotate(j.path, j.l.MaxSize, j.l.MaxFiles); err != nil && !os.IsNotExist(err) {
			s.log.Warn("rotate log", "path", j.path, "err", err)
		}
	}
}
