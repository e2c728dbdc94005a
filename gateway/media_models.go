package gateway

import (
	"strings"

	"github.com/gemgate/gemini-gateway/gateway/pool"
	"github.com/gemgate/gemini-gateway/gateway/upstream"
)

// Tools-spec modes (TOOLS_SPEC).
const (
	// ToolsPerTurn sends web grounding on ordinary turns and media
	// generation only when the model or the request asks for it.
	ToolsPerTurn = "per-turn"
	// ToolsAll sends every tool on every turn, as the web app and older
	// gateways do (it may spend image and video quota on plain chats).
	ToolsAll = "all"
)

// Virtual media models: names in the style of the reference gateways.
const (
	ModelImagen = "gemini-imagen"
	ModelVeo    = "gemini-veo"
)

// Model-name suffixes that add a media tool to an ordinary model
// ("gemini-2.5-pro-image"), as some gateways let clients ask for it.
const (
	suffixImage = "-image"
	suffixVideo = "-video"
)

// resolved is a model a request may name, with what its turn asks for.
type resolved struct {
	Model
	// Name is the name the client used (a suffixed name included).
	Name  string
	Tools upstream.Tools
	Media pool.Media
}

// resolveModel finds the model a request names: a listed one, or a listed
// text model with a media suffix.
func (s *Server) resolveModel(name string) (resolved, bool) {
	return s.resolveModelIn(s.Config(), name)
}

func (s *Server) resolveModelIn(cfg Config, name string) (resolved, bool) {
	if m, ok := findModel(cfg.Models, name); ok {
		return s.withTools(resolved{Model: m, Name: name, Media: m.Media}, cfg), true
	}
	for _, suf := range []struct {
		s string
		m pool.Media
	}{{suffixImage, pool.MediaImage}, {suffixVideo, pool.MediaVideo}} {
		base, ok := strings.CutSuffix(name, suf.s)
		if !ok {
			continue
		}
		if m, ok := findModel(cfg.Models, base); ok && m.Media == pool.MediaText {
			r := resolved{Model: m, Name: name, Media: suf.m}
			r = s.withTools(r, cfg)
			// A suffixed model keeps web grounding: it is a chat model that
			// may also draw.
			if cfg.ToolsSpec != ToolsAll {
				r.Tools |= upstream.ToolWebGrounding
			}
			return r, true
		}
	}
	// A name some client hard-wires, mapped by MODEL_ALIASES; the request
	// log shows the requested name and the model that served it.
	if target, ok := aliasFor(cfg.ModelAliases, name); ok && target != name {
		if r, ok := s.resolveModelNoAlias(target); ok {
			return r, true
		}
	}
	return resolved{}, false
}

// resolveModelNoAlias resolves a name without MODEL_ALIASES (an alias's
// target must name a real model, not another alias).
func (s *Server) resolveModelNoAlias(name string) (resolved, bool) {
	cfg := s.Config()
	cfg.ModelAliases = nil
	return s.resolveModelIn(cfg, name)
}

func findModel(list []Model, id string) (Model, bool) {
	for _, m := range list {
		if m.ID == id {
			return m, true
		}
	}
	return Model{}, false
}

// withTools fills in the toolsSpec of a turn for r.
func (s *Server) withTools(r resolved, cfg Config) resolved {
	if cfg.ToolsSpec == ToolsAll {
		r.Tools = upstream.ToolsAll
		return r
	}
	switch r.Media {
	case pool.MediaImage:
		r.Tools = upstream.ToolImageGeneration
	case pool.MediaVideo:
		r.Tools = upstream.ToolVideoGeneration
	default:
		r.Tools = upstream.ToolWebGrounding
	}
	return r
}
