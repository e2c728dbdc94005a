package gateway

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/gemgate/gemini-gateway/gateway/pool"
)

// The embedded table is valid and is exactly the table the code held
// before it became data: same models, order, upstream ids, media and
// fallbacks, so /v1/models and failover behave as before.
func TestDefaultModelsFile(t *testing.T) {
	ms, err := ParseModels(modelsJSON)
	if err != nil {
		t.Fatalf("models.json: %v", err)
	}
	want := []Model{
		{ID: "gemini-auto", UpstreamID: ""},
		{ID: "gemini-2.5-flash", UpstreamID: "gemini-2.5-flash"},
		{ID: "gemini-2.5-pro", UpstreamID: "gemini-2.5-pro"},
		{ID: "gemini-3-pro-preview", UpstreamID: "gemini-3-pro-preview", Fallbacks: []string{"gemini-3.1-pro-preview", "gemini-2.5-pro"}},
		{ID: "gemini-3-flash-preview", UpstreamID: "gemini-3-flash-preview", Fallbacks: []string{"gemini-2.5-flash"}},
		{ID: "gemini-3.1-pro-preview", UpstreamID: "gemini-3.1-pro-preview", Fallbacks: []string{"gemini-3-pro-preview", "gemini-2.5-pro"}},
		{ID: ModelImagen, UpstreamID: "", Media: pool.MediaImage},
		{ID: ModelVeo, UpstreamID: "", Media: pool.MediaVideo},
	}
	if !reflect.DeepEqual(ms, want) || !reflect.DeepEqual(DefaultModels, want) {
		t.Errorf("models.json gives\n%+v\nwant\n%+v", ms, want)
	}
	// Every entry on its own terms, as ParseModels promises.
	byID := map[string]Model{}
	for _, m := range ms {
		byID[m.ID] = m
	}
	for _, m := range ms {
		if err := validModelID(m.ID); err != nil {
			t.Errorf("%s: %v", m.ID, err)
		}
		for _, fb := range m.Fallbacks {
			if f, ok := byID[fb]; !ok || f.Media != pool.MediaText || fb == m.ID {
				t.Errorf("%s: fallback %q is not another chat model of the table", m.ID, fb)
			}
		}
	}
	if byID[ModelImagen].Media != pool.MediaImage || byID[ModelVeo].Media != pool.MediaVideo {
		t.Errorf("the media models are missing or of the wrong kind: %+v %+v", byID[ModelImagen], byID[ModelVeo])
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Errorf("the default model is not in the table: %v", err)
	}
}

func TestParseModelsRejects(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"not JSON", `{"models": [`, "parse the model table"},
		{"a list, not an object", `[{"id":"a","upstream_id":""}]`, "parse the model table"},
		{"unknown field", `{"models":[{"id":"a","upstream_id":"","fallback":["b"]}]}`, `unknown field "fallback"`},
		{"trailing data", `{"models":[{"id":"a","upstream_id":""}]} {}`, "data after"},
		{"no models", `{"models":[]}`, "lists no model"},
		{"no id", `{"models":[{"upstream_id":"x"}]}`, `"id" is missing`},
		{"id with a space", `{"models":[{"id":"gemini pro","upstream_id":""}]}`, "only letters"},
		{"id with a slash", `{"models":[{"id":"models/x","upstream_id":""}]}`, "only letters"},
		{"long id", `{"models":[{"id":"` + strings.Repeat("a", 101) + `","upstream_id":""}]}`, "longer than 100"},
		{"duplicate", `{"models":[{"id":"a","upstream_id":""},{"id":"a","upstream_id":"b"}]}`, "listed twice"},
		{"no upstream_id", `{"models":[{"id":"a"}]}`, `"upstream_id" is missing`},
		{"upstream_id with spaces", `{"models":[{"id":"a","upstream_id":" b"}]}`, "spaces or control"},
		{"unknown media", `{"models":[{"id":"a","upstream_id":"","media":"audio"}]}`, `media "audio"`},
		{"unknown fallback", `{"models":[{"id":"a","upstream_id":"a","fallbacks":["b"]}]}`, `fallback "b" is not in the table`},
		{"self fallback", `{"models":[{"id":"a","upstream_id":"a","fallbacks":["a"]}]}`, "names itself"},
		{"media fallback", `{"models":[{"id":"a","upstream_id":"a","fallbacks":["i"]},{"id":"i","upstream_id":"","media":"image"}]}`, "not a chat model"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ms, err := ParseModels([]byte(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("ParseModels = %+v, %v; want an error containing %q", ms, err, tc.want)
			}
		})
	}
	// "text" is the default media spelled out; fallbacks may come later in the file.
	ms, err := ParseModels([]byte(`{"models":[{"id":"new","upstream_id":"gemini-9","fallbacks":["old"]},{"id":"old","upstream_id":"gemini-8","media":"text"}]}`))
	if err != nil || len(ms) != 2 || ms[0].Fallbacks[0] != "old" || ms[1].Media != pool.MediaText {
		t.Errorf("a valid table: %+v, %v", ms, err)
	}
}

// FuzzParseModels: any bytes give a table or an error, never a panic, and
// an accepted table holds what ParseModels promises.
func FuzzParseModels(f *testing.F) {
	f.Add(modelsJSON)
	f.Add([]byte(`{"models":[{"id":"a","upstream_id":"","fallbacks":["a"]}]}`))
	f.Add([]byte(`{"models":[{"id":"a","upstream_id":null}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ms, err := ParseModels(b)
		if err != nil {
			return
		}
		seen := map[string]pool.Media{}
		for _, m := range ms {
			if validModelID(m.ID) != nil {
				t.Fatalf("accepted id %q", m.ID)
			}
			if _, dup := seen[m.ID]; dup {
				t.Fatalf("accepted %q twice", m.ID)
			}
			seen[m.ID] = m.Media
		}
		for _, m := range ms {
			for _, fb := range m.Fallbacks {
				if media, ok := seen[fb]; !ok || media != pool.MediaText || fb == m.ID {
					t.Fatalf("accepted fallback %q of %q", fb, m.ID)
				}
			}
		}
	})
}

func TestLoadModelsFile(t *testing.T) {
	if ms, err := LoadModelsFile(""); err != nil || !reflect.DeepEqual(ms, DefaultModels) {
		t.Errorf(`LoadModelsFile("") = %v, %v; want the built-in table`, ms, err)
	}
	dir := t.TempDir()
	good := dir + "/models.json"
	if err := os.WriteFile(good, []byte(`{"models":[{"id":"gemini-9-pro","upstream_id":"gemini-9-pro","fallbacks":["gemini-auto"]},{"id":"gemini-auto","upstream_id":""}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	ms, err := LoadModelsFile(good)
	if err != nil || len(ms) != 2 || ms[0].ID != "gemini-9-pro" || ms[0].Fallbacks[0] != "gemini-auto" {
		t.Errorf("LoadModelsFile(good) = %+v, %v", ms, err)
	}
	bad := dir + "/bad.json"
	if err := os.WriteFile(bad, []byte(`{"models":[{"id":"a","upstream_id":"","fallbacks":["zz"]}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadModelsFile(bad); err == nil || !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), `"zz"`) {
		t.Errorf("a bad file: %v; want an error naming the file and the fallback", err)
	}
	big := dir + "/big.json"
	if err := os.WriteFile(big, make([]byte, maxModelsFile+1), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadModelsFile(big); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("a huge file: %v", err)
	}
	if _, err := LoadModelsFile(dir + "/missing.json"); err == nil {
		t.Error("a missing file was accepted")
	}
}
