package supervisor

import (
	"sync"
	"time"
)

// Event is one line of `hull events`: something the supervisor saw or did, with why.
type Event struct {
	Time    time.Time `json:"time"`
	Type    string    `json:"type"` // start, exit, stop, delete, healthy, unhealthy, gave-up, adopt, apply, down, error
	Project string    `json:"project,omitempty"`
	Service string    `json:"service,omitempty"`
	Replica string    `json:"replica,omitempty"` // container id
	Reason  string    `json:"reason,omitempty"`
	Exit    *Exit     `json:"exit,omitempty"`
}

// bus fans events out to subscribers and keeps the last few for late readers. A slow subscriber
// loses events rather than slowing the supervisor.
type bus struct {
	mu   sync.Mutex
	last []Event
	subs map[chan Event]struct{}
}

const busKeep = 256

func (b *bus) publish(e Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.last = append(b.last, e)
	if len(b.last) > busKeep {
		b.last = b.last[len(b.last)-busKeep:]
	}
	for c := range b.subs {
		select {
		case c <- e:
		default:
		}
	}
}

// subscribe returns the recent events and a channel of the next ones; cancel ends it.
func (b *bus) subscribe() (recent []Event, c chan Event, cancel func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.subs == nil {
		b.subs = map[chan Event]struct{}{}
	}
	c = make(chan Event, 256)
	b.subs[c] = struct{}{}
	return append([]Event(nil), b.last...), c, func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		delete(b.subs, c)
	}
}
