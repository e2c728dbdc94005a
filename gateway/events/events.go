// Package events is the gateway's small in-process publish/subscribe bus.
// The pool, the health checker and the HTTP server publish; the desktop UI,
// the tray and logs subscribe. Publishing never blocks: a subscriber that
// falls behind loses events and is told so (Dropped), which is fine for the
// consumers here, which redraw from current state rather than replay.
package events

import (
	"sync"
	"time"
)

// Kind names an event.
type Kind uint8

const (
	// AccountChanged: an account was added, edited, deleted, or its state
	// (health, cooldown, enabled) changed. AccountID says which.
	AccountChanged Kind = iota + 1
	// HealthRound: a round of health checks finished. Health says how it went.
	HealthRound
	// RequestFinished: a chat request ended. Request describes it.
	RequestFinished
	// GatewayState: the HTTP server started, stopped or failed to start.
	GatewayState
	// AccountNeedsRefresh: an account's cookies need a refresh that the
	// HTTP path could not do (the refreshcookies step failed, or the API
	// keeps refusing fresh tokens). A browser refresh of the account's
	// profile may still save it. AccountID and Reason say which and why.
	AccountNeedsRefresh
	// AccountNeedsSignIn: an account's sign-in is over (state
	// needs_sign_in); only a new sign-in brings it back. AccountID and
	// Reason say which and why.
	AccountNeedsSignIn
)

// Event is one notification. Only the field matching Kind is set.
type Event struct {
	Kind      Kind
	At        time.Time
	AccountID int64
	Health    *HealthSummary
	Request   *RequestInfo
	Gateway   *GatewayInfo
	// Reason explains AccountNeedsRefresh and AccountNeedsSignIn; it never
	// holds a secret.
	Reason string
}

// HealthSummary describes a finished round of health checks.
type HealthSummary struct {
	Checked, Healthy, Failed, Disabled int
	Took                               time.Duration
}

// RequestInfo is what the request log shows: no prompts, no answers, no secrets.
type RequestInfo struct {
	ID             string
	Path           string
	ModelRequested string
	ModelServed    string
	Account        string
	// Client is the name of the client key the request came with ("" when
	// keyless).
	Client       string
	Status       int
	Stream       bool
	TTFT         time.Duration // time to first token; 0 if none
	Duration     time.Duration
	PromptTokens int
	OutputTokens int
	Attempts     int
	Error        string
}

// GatewayInfo describes the HTTP server's state.
type GatewayInfo struct {
	Running bool
	Addr    string
	Err     string
}

// Bus fans events out to subscribers.
type Bus struct {
	mu   sync.Mutex
	subs map[*Subscription]struct{}
}

// Subscription receives events on C until Close.
type Subscription struct {
	C       <-chan Event
	c       chan Event
	bus     *Bus
	mu      sync.Mutex
	dropped int
}

// Subscribe starts a subscription with the given buffer size.
func (b *Bus) Subscribe(buffer int) *Subscription {
	if buffer <= 0 {
		buffer = 64
	}
	c := make(chan Event, buffer)
	s := &Subscription{C: c, c: c, bus: b}
	b.mu.Lock()
	if b.subs == nil {
		b.subs = make(map[*Subscription]struct{})
	}
	b.subs[s] = struct{}{}
	b.mu.Unlock()
	return s
}

// Close ends the subscription and closes C.
func (s *Subscription) Close() {
	b := s.bus
	b.mu.Lock()
	if _, ok := b.subs[s]; ok {
		delete(b.subs, s)
		close(s.c)
	}
	b.mu.Unlock()
}

// Dropped returns how many events were lost because C was full, and resets it.
func (s *Subscription) Dropped() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.dropped
	s.dropped = 0
	return n
}

// Publish delivers ev to every subscriber without blocking.
func (b *Bus) Publish(ev Event) {
	if b == nil {
		return
	}
	if ev.At.IsZero() {
		ev.At = time.Now()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.subs {
		select {
		case s.c <- ev:
		default:
			s.mu.Lock()
			s.dropped++
			s.mu.Unlock()
		}
	}
}
