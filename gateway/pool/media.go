package pool

import (
	"path"
	"strings"

	"github.com/gemgate/gemini-gateway/gateway/chat"
	"github.com/gemgate/gemini-gateway/gateway/upstream"
)

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

// uploadsOf lists what a message attaches: its images, then its files.
func uploadsOf(m chat.Message) []upstream.Upload {
	if len(m.Images)+len(m.Files) == 0 {
		return nil
	}
	out := make([]upstream.Upload, 0, len(m.Images)+len(m.Files))
	for _, img := range m.Images {
		out = append(out, upstream.Upload{MIMEType: img.MIME, Data: img.Data})
	}
	for _, f := range m.Files {
		out = append(out, upstream.Upload{MIMEType: f.MIME, Data: f.Data, FileName: uploadName(f.Name)})
	}
	return out
}

// uploadName keeps the base of a client's file name (the model sees it),
// bounded; "" lets the upstream client make one up.
func uploadName(n string) string {
	n = path.Base(strings.ReplaceAll(n, "\\", "/"))
	if n == "." || n == "/" || strings.ContainsAny(n, "\x00\r\n") {
		return ""
	}
	if len(n) > 120 {
		n = n[len(n)-120:]
	}
	return n
}
