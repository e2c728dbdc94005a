package clients

import (
	"testing"
	"time"
)

func TestRegistryLookup(t *testing.T) {
	var r Registry
	if !r.Empty() {
		t.Fatal("new registry not empty")
	}
	k1, h1, _ := Generate()
	k2, h2, _ := Generate()
	r.Set([]Key{{ID: 1, Name: "a", Hash: h1}, {ID: 2, Name: "b", Hash: h2}})
	r.SetBuiltin("sk-env")
	for key, want := range map[string]string{k1: "a", k2: "b", "sk-env": BuiltinName} {
		if got, ok := r.Lookup(key); !ok || got.Name != want {
			t.Errorf("Lookup(%s…) = %+v %v, want %s", key[:8], got, ok, want)
		}
	}
	for _, bad := range []string{"", "sk-env ", k1[:len(k1)-1], "sk-gg-x"} {
		if _, ok := r.Lookup(bad); ok {
			t.Errorf("Lookup(%q) matched", bad)
		}
	}
	if n := len(r.All()); n != 3 {
		t.Errorf("All: %d keys", n)
	}
	r.SetBuiltin("")
	r.Set(nil)
	if !r.Empty() {
		t.Error("cleared registry not empty")
	}
}

func TestRateLimiter(t *testing.T) {
	var l RateLimiter
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	for i := range 3 {
		if ok, _ := l.Allow(1, 3, now); !ok {
			t.Fatalf("request %d of a burst of 3 refused", i+1)
		}
	}
	ok, wait := l.Allow(1, 3, now)
	if ok || wait < 19*time.Second || wait > 21*time.Second {
		t.Fatalf("4th: %v, wait %v (want about 20 s)", ok, wait)
	}
	if ok, _ := l.Allow(2, 3, now); !ok {
		t.Error("another key shares the allowance")
	}
	if ok, _ := l.Allow(1, 3, now.Add(20*time.Second)); !ok {
		t.Error("no token after 20 s")
	}
	if ok, _ := l.Allow(1, 0, now); !ok {
		t.Error("rpm 0 limits")
	}
}

func TestValidName(t *testing.T) {
	for _, bad := range []string{"", "  ", "api_key", "a\nb", string(make([]byte, 65))} {
		if ValidName(bad) == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if err := ValidName("Open WebUI"); err != nil {
		t.Error(err)
	}
}
