package pool

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gemgate/gemini-gateway/gateway/accounts"
	"github.com/gemgate/gemini-gateway/gateway/upstream"
)

// lockedSource is a source whose keychain is locked: every secret read
// fails, and is counted.
type lockedSource struct {
	listSource
	reads atomic.Int32
}

func (l *lockedSource) Secrets(context.Context, accounts.Account) (accounts.Secrets, error) {
	l.reads.Add(1)
	return accounts.Secrets{}, errors.New("the keychain is locked")
}

// A check that cannot read the account's secrets is a local problem: it
// is not retried like a transient upstream failure, and it leaves the
// account's state and network-error count alone.
func TestCheckLockedKeychainNotRetried(t *testing.T) {
	src := &lockedSource{listSource: listSource{{ID: 1, Name: "a", Enabled: true, Status: accounts.StatusHealthy}}}
	p, err := New(context.Background(), Config{}, Options{Source: src})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	cfg := DefaultHealthConfig()
	cfg.RetryCount, cfg.NetworkErrorThreshold, cfg.Timeout = 2, 1, 5*time.Second
	c := NewChecker(p, cfg)
	o := c.CheckOne(context.Background(), 1)
	if o.OK || o.Disabled || o.Kind != upstream.KindTransient || !strings.Contains(o.Message, "cannot read this account's secrets") {
		t.Fatalf("outcome = %+v, want a failed, not disabling, secrets failure", o)
	}
	if n := src.reads.Load(); n != 1 {
		t.Errorf("secrets read %d times, want 1 (no retry of a locked keychain)", n)
	}
	v := p.Snapshot()[0]
	if v.Status != accounts.StatusHealthy || v.NetworkErrors != 0 || v.LastCheckOK || v.LastCheckAt.IsZero() {
		t.Errorf("account after the check: status %q, network errors %d, last check ok=%v at %v; want healthy, 0, a recorded failed check",
			v.Status, v.NetworkErrors, v.LastCheckOK, v.LastCheckAt)
	}
}
