package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// MODELS_FILE replaces the built-in model table; a bad one stops the start
// with a message naming the setting, the file and the fault.
func TestModelsFileSetting(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "models.json")
	os.WriteFile(good, []byte(`{"models":[{"id":"gemini-auto","upstream_id":""},{"id":"gemini-9-pro","upstream_id":"gemini-9-pro","fallbacks":["gemini-auto"]}]}`), 0o600)
	cfg, err := Resolve([]Layer{{Source: "env", Vars: map[string]string{"MODELS_FILE": good}}})
	if err != nil {
		t.Fatal(err)
	}
	if ms := cfg.Gateway.Models; len(ms) != 2 || ms[1].ID != "gemini-9-pro" || ms[1].UpstreamID != "gemini-9-pro" {
		t.Errorf("models from MODELS_FILE: %+v", ms)
	}
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"models":[{"id":"gemini-auto","upstream_id":"","media":"audio"}]}`), 0o600)
	_, err = Resolve([]Layer{{Source: "env", Vars: map[string]string{"MODELS_FILE": bad}}})
	if err == nil || !strings.Contains(err.Error(), "MODELS_FILE") || !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), `media "audio"`) {
		t.Errorf("a bad MODELS_FILE: %v", err)
	}
	// A table without the default model is refused as DEFAULT_MODEL is.
	other := filepath.Join(dir, "other.json")
	os.WriteFile(other, []byte(`{"models":[{"id":"gemini-9-pro","upstream_id":"gemini-9-pro"}]}`), 0o600)
	if _, err := Resolve([]Layer{{Source: "env", Vars: map[string]string{"MODELS_FILE": other}}}); err == nil || !strings.Contains(err.Error(), "DEFAULT_MODEL") {
		t.Errorf("a table without the default model: %v", err)
	}
	if cfg, err := Resolve([]Layer{{Source: "env", Vars: map[string]string{"MODELS_FILE": other, "DEFAULT_MODEL": "gemini-9-pro"}}}); err != nil || len(cfg.Gateway.Models) != 1 {
		t.Errorf("with DEFAULT_MODEL from the file: %v", err)
	}
}
