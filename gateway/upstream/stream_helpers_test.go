package upstream

import (
	"context"
	"io"
)

// newTestStream decodes a raw answer body without HTTP.
func newTestStream(r io.Reader) *Stream {
	ctx, cancel := context.WithCancelCause(context.Background())
	return newStream(ctx, cancel, io.NopCloser(r), nil, 0, 1<<20)
}
