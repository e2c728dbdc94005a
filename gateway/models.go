package gateway

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/gemgate/gemini-gateway/gateway/pool"
)

// modelsJSON is the model table as data (models.json beside this file):
// adding an upstream model is one line there.
//
//go:embed models.json
var modelsJSON []byte

// DefaultModels is the one list of models, read from models.json when the
// program starts (TestDefaultModelsFile holds the file valid).
var DefaultModels = mustParseModels(modelsJSON)

func mustParseModels(b []byte) []Model {
	ms, err := ParseModels(b)
	if err != nil {
		panic("gateway/models.json: " + err.Error())
	}
	return ms
}

// maxModelsFile bounds a MODELS_FILE (the built-in table is under 1 KiB).
const maxModelsFile = 1 << 20

// LoadModelsFile reads a model table in the form of models.json from path
// (MODELS_FILE); "" is the built-in table.
func LoadModelsFile(path string) ([]Model, error) {
	if strings.TrimSpace(path) == "" {
		return DefaultModels, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxModelsFile+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(b) > maxModelsFile {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, maxModelsFile)
	}
	ms, err := ParseModels(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return ms, nil
}

// modelFile is the shape of models.json.
type modelFile struct {
	Models []modelEntry `json:"models"`
}

type modelEntry struct {
	// ID is the name clients use.
	ID string `json:"id"`
	// UpstreamID is the upstream model id; "" lets the upstream choose.
	UpstreamID *string `json:"upstream_id"`
	// Media is "" (or "text") for a chat model, "image" or "video" for a
	// virtual model that generates them.
	Media string `json:"media,omitempty"`
	// Fallbacks are the nearest chat models, in order (Model.Fallbacks).
	Fallbacks []string `json:"fallbacks,omitempty"`
}

// ParseModels reads and validates a model table in the form of
// models.json: every id present, unique and usable in a URL and a JSON
// string; upstream_id given (maybe "", the upstream's choice); media one
// of text, image, video; fallbacks naming other chat models of the table.
func ParseModels(b []byte) ([]Model, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var f modelFile
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("parse the model table: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("parse the model table: data after the JSON object")
	}
	if len(f.Models) == 0 {
		return nil, errors.New(`the model table lists no model ("models": [...])`)
	}
	out := make([]Model, 0, len(f.Models))
	index := make(map[string]int, len(f.Models))
	for i, e := range f.Models {
		if err := validModelID(e.ID); err != nil {
			return nil, fmt.Errorf("model %d: %w", i+1, err)
		}
		if _, dup := index[e.ID]; dup {
			return nil, fmt.Errorf("model %q is listed twice", e.ID)
		}
		if e.UpstreamID == nil {
			return nil, fmt.Errorf(`model %q: "upstream_id" is missing ("" lets the upstream choose)`, e.ID)
		}
		if u := *e.UpstreamID; u != strings.TrimSpace(u) || strings.ContainsFunc(u, isControl) {
			return nil, fmt.Errorf("model %q: upstream_id %q has spaces or control characters", e.ID, u)
		}
		m := Model{ID: e.ID, UpstreamID: *e.UpstreamID, Fallbacks: e.Fallbacks}
		switch e.Media {
		case "", "text":
			m.Media = pool.MediaText
		case "image":
			m.Media = pool.MediaImage
		case "video":
			m.Media = pool.MediaVideo
		default:
			return nil, fmt.Errorf("model %q: media %q: want text, image or video", e.ID, e.Media)
		}
		index[e.ID] = len(out)
		out = append(out, m)
	}
	for _, m := range out {
		for _, fb := range m.Fallbacks {
			j, ok := index[fb]
			switch {
			case !ok:
				return nil, fmt.Errorf("model %q: fallback %q is not in the table", m.ID, fb)
			case fb == m.ID:
				return nil, fmt.Errorf("model %q: names itself as a fallback", m.ID)
			case out[j].Media != pool.MediaText:
				return nil, fmt.Errorf("model %q: fallback %q is not a chat model", m.ID, fb)
			}
		}
	}
	return out, nil
}

// validModelID accepts the names clients send: letters, digits and . _ -
// (no spaces, slashes or quotes), at most 100 bytes.
func validModelID(id string) error {
	if id == "" {
		return errors.New(`"id" is missing`)
	}
	if len(id) > 100 {
		return fmt.Errorf("id %q is longer than 100 bytes", id)
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return fmt.Errorf("id %q: only letters, digits, '.', '_' and '-' are allowed", id)
		}
	}
	return nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }
