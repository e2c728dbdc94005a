package gateway

import (
	"testing"
	"time"
)

func TestStickiness(t *testing.T) {
	s := newStickiness(30 * time.Minute)
	now := time.Now()
	if m, up := s.Resolve("ide", "gemini-2.5-flash", false, now); up || m != "gemini-2.5-flash" {
		t.Errorf("no preference yet: %s %v", m, up)
	}
	s.Resolve("ide", "gemini-3-pro-preview", true, now)
	if m, up := s.Resolve("ide", "gemini-2.5-flash", false, now.Add(time.Minute)); !up || m != "gemini-3-pro-preview" {
		t.Errorf("background job not upgraded: %s", m)
	}
	if m, _ := s.Resolve("other-client", "gemini-2.5-flash", false, now); m != "gemini-2.5-flash" {
		t.Errorf("another client upgraded: %s", m)
	}
	if m, _ := s.Resolve("ide", "gemini-2.5-flash", false, now.Add(31*time.Minute)); m != "gemini-2.5-flash" {
		t.Errorf("stale preference applied: %s", m)
	}
	if m, _ := s.Resolve("ide", "gemini-auto", false, now); m != "gemini-auto" {
		t.Errorf("non-2.5 model rewritten: %s", m)
	}
	var nilS *stickiness
	if m, up := nilS.Resolve("x", "gemini-2.5-pro", false, now); up || m != "gemini-2.5-pro" {
		t.Error("nil stickiness changed the model")
	}
}
