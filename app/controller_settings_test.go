//go:build !nogui

package app

import (
	"reflect"
	"strings"
	"testing"

	"github.com/gemgate/gemini-gateway/gateway/events"
	"github.com/gemgate/gemini-gateway/ui"
)

// TestPanelRowsFromTheTable: the Settings panel's rows are the table's
// labelled settings, in the table's order, with the table's kind, choices,
// default and restart flag, and the source that overrides a saved value.
func TestPanelRowsFromTheTable(t *testing.T) {
	cfg, err := Resolve([]Layer{
		{Source: "settings", Vars: map[string]string{"PORT": "7001"}},
		{Source: "environment", Vars: map[string]string{"LOG_LEVEL": "debug"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	a := &App{Bus: &events.Bus{}}
	a.SetConfig(cfg)
	c := newController(a)
	defer c.close()
	rows := c.Settings()
	var want []string
	for _, s := range Settings() {
		if s.InPanel() {
			want = append(want, s.Name)
		}
	}
	var got []string
	byName := map[string]ui.Setting{}
	for _, r := range rows {
		got = append(got, r.Name)
		byName[r.Name] = r
	}
	if !reflect.DeepEqual(got, want) || len(got) < 40 {
		t.Fatalf("panel rows %v, want %v", got, want)
	}
	if r := byName["PORT"]; r.Value != "7001" || r.OverriddenBy != "" || r.Kind != ui.SettingNumber || r.Group != "Gateway" {
		t.Errorf("PORT row %+v", r)
	}
	if r := byName["LOG_LEVEL"]; r.Value != "debug" || r.OverriddenBy != "environment" || !r.Restart || r.Kind != ui.SettingChoice ||
		!reflect.DeepEqual(r.Options, []string{"debug", "info", "warn", "error"}) {
		t.Errorf("LOG_LEVEL row %+v", r)
	}
	if r := byName["SELECTION_STRATEGY"]; r.Value != "failover" || !strings.HasSuffix(r.Help, "(default failover)") {
		t.Errorf("SELECTION_STRATEGY row %+v", r)
	}
	if r := byName["DATABASE_URL"]; !r.Secret || !r.Restart || r.Value != "" {
		t.Errorf("DATABASE_URL row %+v", r)
	}
	if r := byName["HEALTH_CHECK_INTERVAL"]; r.Kind != ui.SettingDuration || r.Help != "time between rounds (default 300s)" {
		t.Errorf("HEALTH_CHECK_INTERVAL row %+v", r)
	}
	seen := map[ui.SettingKind]bool{}
	for k := KindText; k <= KindDuration; k++ {
		if seen[uiKind(k)] {
			t.Errorf("kind %d shares its widget", k)
		}
		seen[uiKind(k)] = true
	}
}
