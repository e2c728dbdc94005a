package upstream

import (
	"strings"
	"time"
)

// Tools is the set of upstream tools one turn asks for; it becomes the
// turn's toolsSpec. Media generation spends a scarce per-account quota and
// makes turns slower, so an ordinary chat asks for web grounding only, as
// the maintained reference gateways do since 2026-01.
type Tools uint8

const (
	// ToolWebGrounding lets the model search the web (webGroundingSpec).
	ToolWebGrounding Tools = 1 << iota
	// ToolImageGeneration lets the model draw images (imageGenerationSpec).
	ToolImageGeneration
	// ToolVideoGeneration lets the model make videos (videoGenerationSpec).
	ToolVideoGeneration

	// ToolsAll is every tool, what the web app and older gateways send on
	// every turn.
	ToolsAll = ToolWebGrounding | ToolImageGeneration | ToolVideoGeneration
)

// ToolsDefault is the set for an AssistRequest whose Tools is zero: web
// grounding only.
const ToolsDefault = ToolWebGrounding

// String names the tools ("web+image").
func (t Tools) String() string {
	var parts []string
	if t&ToolWebGrounding != 0 {
		parts = append(parts, "web")
	}
	if t&ToolImageGeneration != 0 {
		parts = append(parts, "image")
	}
	if t&ToolVideoGeneration != 0 {
		parts = append(parts, "video")
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, "+")
}

// Media reports whether the set asks for image or video generation.
func (t Tools) Media() bool { return t&(ToolImageGeneration|ToolVideoGeneration) != 0 }

// empty is the {} every spec is; a nil pointer leaves the key out.
type empty struct{}

type toolsSpec struct {
	WebGroundingSpec    *empty `json:"webGroundingSpec,omitempty"`
	ToolRegistry        string `json:"toolRegistry"`
	ImageGenerationSpec *empty `json:"imageGenerationSpec,omitempty"`
	VideoGenerationSpec *empty `json:"videoGenerationSpec,omitempty"`
}

// specFor builds the toolsSpec of a turn. toolRegistry is always sent: the
// service requires it, and it alone means "no tools".
func specFor(t Tools) toolsSpec {
	if t == 0 {
		t = ToolsDefault
	}
	s := toolsSpec{ToolRegistry: "default_tool_registry"}
	if t&ToolWebGrounding != 0 {
		s.WebGroundingSpec = &empty{}
	}
	if t&ToolImageGeneration != 0 {
		s.ImageGenerationSpec = &empty{}
	}
	if t&ToolVideoGeneration != 0 {
		s.VideoGenerationSpec = &empty{}
	}
	return s
}

// firstByteTimeout is the wait for the first element of a turn: media
// turns may take minutes (one image turn took 516 s in the wild), text
// keeps the tight limit that fails over a stuck account quickly.
func (c *Client) firstByteTimeout(t Tools) time.Duration {
	if t.Media() && c.cfg.MediaTimeout > c.cfg.FirstByteTimeout {
		return c.cfg.MediaTimeout
	}
	return c.cfg.FirstByteTimeout
}

// idleTimeout is the longest silence inside a turn, by the same rule.
func (c *Client) idleTimeout(t Tools) time.Duration {
	if t.Media() && c.cfg.MediaTimeout > c.cfg.IdleTimeout {
		return c.cfg.MediaTimeout
	}
	return c.cfg.IdleTimeout
}
