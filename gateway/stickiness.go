package gateway

import (
	"strings"
	"sync"
	"time"
)

// stickiness is the Python gateway's model stickiness, made explicit: a
// client's background non-streaming jobs (titles, summaries), which
// usually ask for a cheap gemini-2.5 model, are served with the gemini-3
// model its recent streaming chats used, so they stay on one model family.
type stickiness struct {
	mu     sync.Mutex
	window time.Duration
	prefs  map[string]stickyPref
}

type stickyPref struct {
	model string
	at    time.Time
}

// newStickiness remembers a client's streaming model for window.
func newStickiness(window time.Duration) *stickiness {
	return &stickiness{window: window, prefs: make(map[string]stickyPref)}
}

// maxStickyClients bounds the map; clients are few on a desktop, but a
// server facing many must not grow without end.
const maxStickyClients = 4096

// Resolve returns the model to serve for a request from client.
// Streaming requests record their model; a non-streaming request for a
// gemini-2.5 model is upgraded to the client's recent gemini-3 model.
func (s *stickiness) Resolve(client, model string, stream bool, now time.Time) (served string, upgraded bool) {
	if s == nil {
		return model, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if stream {
		if len(s.prefs) >= maxStickyClients {
			for k, v := range s.prefs {
				if now.Sub(v.at) > s.window {
					delete(s.prefs, k)
				}
			}
			if len(s.prefs) >= maxStickyClients {
				clear(s.prefs)
			}
		}
		s.prefs[client] = stickyPref{model: model, at: now}
		return model, false
	}
	p, ok := s.prefs[client]
	if ok && now.Sub(p.at) <= s.window && strings.HasPrefix(model, "gemini-2.5") && strings.Contains(p.model, "gemini-3") {
		return p.model, true
	}
	return model, false
}
