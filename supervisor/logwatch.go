package supervisor

import (
	"context"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// logWatch wakes a log follower when a file in a replica log directory is written, created or
// renamed in (inotify(7) on the directory), instead of re-reading every file on a timer. Where
// the watch cannot be made (the directory does not exist yet), it falls back to a 250 ms tick,
// and retries the watch on each tick.
type logWatch struct {
	dir    string
	f      *os.File // the inotify fd, non-blocking, so reads park in Go's poller
	events chan struct{}
}

func newLogWatch(dir string) *logWatch {
	w := &logWatch{dir: dir, events: make(chan struct{}, 1)}
	w.arm()
	return w
}

// arm makes the inotify watch if there is none yet, and starts the goroutine that turns its
// events into wake-ups.
func (w *logWatch) arm() {
	if w.f != nil {
		return
	}
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return
	}
	const mask = unix.IN_MODIFY | unix.IN_CREATE | unix.IN_MOVED_TO | unix.IN_CLOSE_WRITE | unix.IN_ATTRIB
	if _, err := unix.InotifyAddWatch(fd, w.dir, mask); err != nil {
		unix.Close(fd)
		return
	}
	w.f = os.NewFile(uintptr(fd), "inotify:"+w.dir)
	go func(f *os.File) {
		buf := make([]byte, 4096)
		for {
			if _, err := f.Read(buf); err != nil {
				return // closed by close
			}
			select {
			case w.events <- struct{}{}:
			default: // a wake-up is already pending; the reader reads everything anyway
			}
		}
	}(w.f)
}

// wait returns when something in the directory changed (or after the fallback tick), false when
// ctx ended.
func (w *logWatch) wait(ctx context.Context) bool {
	var tick <-chan time.Time
	if w.f == nil {
		tick = time.After(250 * time.Millisecond)
	}
	select {
	case <-ctx.Done():
		return false
	case <-w.events:
	case <-tick:
		w.arm()
	}
	return true
}

func (w *logWatch) close() {
	if w.f != nil {
		w.f.Close()
	}
}
