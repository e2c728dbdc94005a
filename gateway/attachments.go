package gateway

import (
	"context"
	"fmt"
	"net/http"
	"path"

	"github.com/gemgate/gemini-gateway/gateway/chat"
	"github.com/gemgate/gemini-gateway/gateway/openai"
)

// fetchFiles downloads the http(s) files of the newest user message (the
// only ones uploaded) through the same guarded fetch as images: public
// addresses only, a timeout, and the file size limit.
func (s *Server) fetchFiles(ctx context.Context, req *chat.Request, cfg Config) *openai.Error {
	last := chat.LastUser(req.Messages)
	if last < 0 {
		return nil
	}
	files := req.Messages[last].Files
	fcfg := cfg
	fcfg.Limits.MaxImageBytes = cfg.Limits.MaxFileBytes
	if fcfg.Limits.MaxImageBytes <= 0 {
		fcfg.Limits.MaxImageBytes = 15 << 20
	}
	for i := range files {
		if files[i].Data != nil || files[i].URL == "" {
			continue
		}
		param := fmt.Sprintf("messages[%d].content file %d", last, i+1)
		data, err := fetchImage(ctx, files[i].URL, fcfg)
		if err != nil {
			return openai.BadRequest(param, "file_fetch_failed", "Could not fetch "+param+": "+err.Error()+".")
		}
		mime, ok := openai.FileMIME("", files[i].Name, data)
		if !ok {
			if ct := http.DetectContentType(data); ct != "" {
				mime = ct
			}
			return openai.BadRequest(param, "unsupported_file_type", fmt.Sprintf(
				"%s (%s) is %s, which Gemini Business does not take. Accepted: %s.", param, path.Base(files[i].URL), mime, openai.FileTypeList()))
		}
		files[i].Data, files[i].MIME = data, mime
	}
	return nil
}
