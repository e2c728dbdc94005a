package pool

import "github.com/gemgate/gemini-gateway/gateway/upstream"

// Media is the kind of turn, for quotas and cooldowns: an account that has
// used up its image quota still serves text.
type Media uint8

const (
	// MediaText is an ordinary chat turn.
	MediaText Media = iota
	// MediaImage is a turn that asks for image generation.
	MediaImage
	// MediaVideo is a turn that asks for video generation.
	MediaVideo
)

var mediaNames = [...]string{MediaText: "text", MediaImage: "image", MediaVideo: "video"}

func (m Media) String() string {
	if int(m) < len(mediaNames) {
		return mediaNames[m]
	}
	return "unknown"
}

// MediaOf is the kind of a turn that asks for tools t.
func MediaOf(t upstream.Tools) Media {
	switch {
	case t&upstream.ToolVideoGeneration != 0 && t&upstream.ToolImageGeneration == 0:
		return MediaVideo
	case t&upstream.ToolImageGeneration != 0 && t&upstream.ToolVideoGeneration == 0:
		return MediaImage
	}
	return MediaText
}
