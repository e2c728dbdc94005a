//go:build !nogui

package app

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/gemgate/gemini-gateway/gateway/events"
	"github.com/gemgate/gemini-gateway/ui"
)

// The gateway's events.Bus is the one subscriber registry. The controller
// holds one subscription of its own, for the request log (keepLog), which
// never waits on the UI; every ui.Controller.Subscribe is a further bus
// subscription with its own forwarding goroutine (forward). Each consumer
// reports its own losses: when the bus dropped events because a consumer
// fell behind, that consumer gets a request-log row saying so.

const (
	maxRequests = 1000 // rows the request log keeps
	subBuffer   = 1024 // events a consumer may fall behind before the bus drops
)

// keepLog records finished requests in the request log and hands chat
// requests their log line, until close.
func (c *controller) keepLog() {
	defer close(c.done)
	for ev := range c.sub.C {
		if n := c.sub.Dropped(); n > 0 {
			c.appendRow(droppedRow(n))
		}
		if ev.Kind != events.RequestFinished {
			continue
		}
		row := requestRow(ev)
		c.appendRow(row)
		c.mu.Lock()
		if w := c.waiters[row.ID]; w != nil {
			w <- *ev.Request
			delete(c.waiters, row.ID)
		}
		c.mu.Unlock()
	}
}

func (c *controller) appendRow(row ui.RequestRow) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reqs = append(c.reqs, row)
	if len(c.reqs) > maxRequests {
		c.reqs = c.reqs[len(c.reqs)-maxRequests:]
	}
}

// Subscribe subscribes fn to the bus: a goroutine turns gateway events into
// UI events and calls fn until cancel. After cancel returns, fn is not
// called again unless a call was already under way.
func (c *controller) Subscribe(fn func(ui.Event)) (cancel func()) {
	sub := c.a.Bus.Subscribe(subBuffer)
	var stopped atomic.Bool
	go forward(sub, &stopped, fn)
	return func() {
		stopped.Store(true)
		sub.Close() // idempotent
	}
}

// forward delivers sub's events to fn as UI events, first a row saying how
// many were dropped if the bus dropped any because fn was slow.
func forward(sub *events.Subscription, stopped *atomic.Bool, fn func(ui.Event)) {
	for ev := range sub.C {
		if stopped.Load() {
			continue // drain what Close left buffered
		}
		if n := sub.Dropped(); n > 0 {
			row := droppedRow(n)
			fn(ui.Event{Kind: ui.EventRequest, Request: &row})
		}
		if out, ok := uiEvent(ev); ok {
			fn(out)
		}
	}
}

// uiEvent is the UI's view of a gateway event; ok is false for events the
// UI does not show.
func uiEvent(ev events.Event) (out ui.Event, ok bool) {
	switch ev.Kind {
	case events.AccountChanged, events.AccountNeedsSignIn:
		return ui.Event{Kind: ui.EventAccounts}, true
	case events.GatewayState:
		return ui.Event{Kind: ui.EventGateway}, true
	case events.HealthRound:
		h := ev.Health
		return ui.Event{Kind: ui.EventHealth, Health: &ui.HealthSummary{Checked: h.Checked, Healthy: h.Healthy, Failed: h.Failed, Disabled: h.Disabled, Took: h.Took}}, true
	case events.RequestFinished:
		row := requestRow(ev)
		return ui.Event{Kind: ui.EventRequest, Request: &row}, true
	}
	return ui.Event{}, false
}

// droppedRow is a request-log line saying that n events were lost because
// their consumer fell behind, so that the log never misses rows silently.
func droppedRow(n int) ui.RequestRow {
	return ui.RequestRow{Time: time.Now(), Error: fmt.Sprintf("%d events dropped: the request log fell behind, rows may be missing here", n)}
}

func requestRow(ev events.Event) ui.RequestRow {
	r := ev.Request
	return ui.RequestRow{ID: r.ID, Time: ev.At, Path: r.Path, Model: r.ModelServed, Account: r.Account, Status: r.Status,
		Stream: r.Stream, Latency: r.Duration, TTFT: r.TTFT, Tokens: r.OutputTokens, Error: r.Error, Attempts: r.Attempts}
}

func (c *controller) RecentRequests() []ui.RequestRow {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]ui.RequestRow(nil), c.reqs...)
}

// awaitRequest registers interest in the log line of a request id.
func (c *controller) awaitRequest(id string) chan events.RequestInfo {
	ch := make(chan events.RequestInfo, 1)
	c.mu.Lock()
	c.waiters[id] = ch
	c.mu.Unlock()
	return ch
}

func (c *controller) forgetRequest(id string) {
	c.mu.Lock()
	delete(c.waiters, id)
	c.mu.Unlock()
}
