package pool

import (
	"context"
	"fmt"

	"github.com/gemgate/gemini-gateway/gateway/upstream"
)

// Prompt size. Agent prompts run to tens of kilobytes and grow with every
// turn; a web model's query field is known to cut long prompts silently
// (the newest message goes first), so a query past InlineQueryBytes goes
// up as a text file attached to the session with a short query pointing
// at it, and one past MaxPromptBytes is refused. Nothing is truncated.
const (
	// InlineQueryBytes is the largest query sent as query text.
	InlineQueryBytes = 120_000
	// MaxPromptBytes is the largest prompt sent at all (as a file).
	MaxPromptBytes = 8 << 20
	// PromptFileName is the name of the uploaded prompt file.
	PromptFileName = "conversation.txt"
)

// PromptFileQuery is the query that accompanies an uploaded prompt.
const PromptFileQuery = "The whole conversation so far, including your instructions, is in the attached file " + PromptFileName + ". Read all of it, then reply to its last message as the assistant, following its instructions."

// PromptTooLongError refuses a prompt larger than the limit.
type PromptTooLongError struct {
	Bytes, Limit int
}

func (e *PromptTooLongError) Error() string {
	return fmt.Sprintf("the prompt is %d bytes, more than the %d bytes this gateway sends upstream; shorten the conversation or start a new one", e.Bytes, e.Limit)
}

// placePrompt returns the query to send and, for a long one, uploads the
// body as a text file into the session and returns its id.
func (p *Pool) placePrompt(ctx context.Context, cr upstream.Credentials, session, body string, req *Request) (query string, fileID string, err error) {
	inline, maxB := InlineQueryBytes, MaxPromptBytes
	if req.InlineLimit > 0 {
		inline = req.InlineLimit
	}
	if req.MaxPrompt > 0 {
		maxB = req.MaxPrompt
	}
	suffix := ""
	if req.Suffix != "" {
		suffix = "\n\n" + req.Suffix
	}
	if len(body)+len(suffix) <= inline {
		return body + suffix, "", nil
	}
	if len(body) > maxB {
		// A bad request: no other account would take it, and it says
		// nothing about this one.
		tl := &PromptTooLongError{Bytes: len(body), Limit: maxB}
		return "", "", &upstream.Error{Op: "prompt", Kind: upstream.KindBadRequest, Message: tl.Error(), Err: tl}
	}
	id, err := p.upstream().AddContextFile(ctx, cr, session, upstream.Upload{MIMEType: "text/plain", Data: []byte(body), FileName: PromptFileName})
	if err != nil {
		return "", "", err
	}
	return PromptFileQuery + suffix, id, nil
}
