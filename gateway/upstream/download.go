package upstream

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/url"
	"time"
)

// maxDownload bounds one generated file.
const maxDownload = 256 << 20

// Download limits, as Dreamy-rain runs them against the real service:
// three tries of up to 180 s each, 2/4/8 s apart.
const (
	downloadTimeout = 180 * time.Second
	downloadTries   = 3
	downloadBackoff = 2 * time.Second
)

// downloadPaths are the two paths that serve a generated file; the
// references use either, and one of them has answered 404 for files the
// other served (yukkcat/gemini-business2api#39).
var downloadPaths = [...]string{"/v1alpha/", "/download/v1alpha/"}

// downloadClient follows redirects (the service redirects downloads to its
// storage front end) where the API client never does. Go drops the
// Authorization header when a redirect leaves the host, so the bearer
// token stays with the API.
func (c *Client) downloadClient() *http.Client {
	return &http.Client{
		Transport: c.http.Transport,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 5 {
				return errors.New("too many redirects")
			}
			if req.URL.Scheme != "https" && req.URL.Scheme != "http" {
				return errors.New("redirect to a non-http URL")
			}
			return nil
		},
	}
}

// DownloadFile fetches a generated file's bytes. session must be the
// projects/… form reported by the metadata. Redirects are followed; a
// failing path falls back to the other one; failures that may pass are
// retried with backoff; a body of base64 text is decoded, whatever the
// file type.
func (c *Client) DownloadFile(ctx context.Context, cr Credentials, session, fileID string) ([]byte, error) {
	hc := c.downloadClient()
	backoff := c.cfg.DownloadBackoff
	if backoff <= 0 {
		backoff = downloadBackoff
	}
	var last error
	for try := 0; try < downloadTries; try++ {
		if try > 0 {
			t := time.NewTimer(backoff << (try - 1))
			select {
			case <-ctx.Done():
				t.Stop()
				return nil, ctx.Err()
			case <-t.C:
			}
		}
		for _, p := range downloadPaths {
			b, err := c.downloadOnce(ctx, hc, cr, c.cfg.APIURL+p+session+":downloadFile?fileId="+url.QueryEscape(fileID)+"&alt=media")
			if err == nil {
				return b, nil
			}
			last = err
			switch KindOf(err) {
			case KindExpired, KindBanned, KindBadRequest:
				return nil, err
			}
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
		}
	}
	return nil, last
}

func (c *Client) downloadOnce(ctx context.Context, hc *http.Client, cr Credentials, u string) ([]byte, error) {
	const op = "downloadFile"
	timeout := c.cfg.DownloadTimeout
	if timeout <= 0 {
		timeout = downloadTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for attempt := 0; ; attempt++ {
		jwt, err := c.Token(ctx, cr)
		if err != nil {
			return nil, err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, &Error{Op: op, Kind: KindBadRequest, Message: "build request"}
		}
		req.Header.Set("Authorization", "Bearer "+jwt)
		req.Header.Set("Origin", c.cfg.Origin)
		req.Header.Set("Referer", c.cfg.Origin+"/")
		req.Header.Set("User-Agent", c.userAgent(cr))
		resp, err := hc.Do(req)
		if err != nil {
			return nil, networkError(op, err)
		}
		b, err := io.ReadAll(io.LimitReader(resp.Body, maxDownload+1))
		resp.Body.Close()
		if err != nil {
			return nil, networkError(op, err)
		}
		if resp.StatusCode == http.StatusUnauthorized && attempt == 0 {
			c.tokens.invalidate(cr.AccountID, jwt)
			continue
		}
		if resp.StatusCode != http.StatusOK {
			e := httpError(op, resp.StatusCode, resp.Header, b)
			if e.Kind == KindSessionGone || e.Kind == KindBadRequest && resp.Request.URL.Host != req.URL.Host {
				// A missing file on one path, or a storage front end that
				// refused: worth the other path and another try.
				e.Kind = KindTransient
			}
			return nil, e
		}
		if len(b) > maxDownload {
			return nil, &Error{Op: op, Kind: KindTransient, Message: "generated file larger than 256 MiB"}
		}
		return DecodeMaybeBase64(b), nil
	}
}

// DecodeMaybeBase64 returns the bytes a download body stands for: some
// answers carry base64 text of the file instead of the file (PNG, JPEG,
// WebP, MP4 … alike). A body is decoded when it is entirely base64 text
// and what it decodes to is not text itself.
func DecodeMaybeBase64(b []byte) []byte {
	s := bytes.TrimSpace(b)
	if len(s) < 8 || !isBase64Text(s) {
		return b
	}
	var d []byte
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		buf := make([]byte, enc.DecodedLen(len(s)))
		n, err := enc.Decode(buf, stripNewlines(s))
		if err == nil {
			d = buf[:n]
			break
		}
	}
	if d == nil {
		return b
	}
	if ct := http.DetectContentType(d); ct == "application/octet-stream" || bytes.HasPrefix([]byte(ct), []byte("text/")) {
		// Undecided or text: decoding would be a guess. Known binary
		// formats (images, video, audio, PDF, archives) are not.
		if !knownBinary(d) {
			return b
		}
	}
	return d
}

func isBase64Text(s []byte) bool {
	for _, ch := range s {
		switch {
		case ch >= 'A' && ch <= 'Z', ch >= 'a' && ch <= 'z', ch >= '0' && ch <= '9',
			ch == '+', ch == '/', ch == '=', ch == '-', ch == '_', ch == '\n', ch == '\r':
		default:
			return false
		}
	}
	return true
}

func stripNewlines(s []byte) []byte {
	if !bytes.ContainsAny(s, "\r\n") {
		return s
	}
	out := make([]byte, 0, len(s))
	for _, ch := range s {
		if ch != '\n' && ch != '\r' {
			out = append(out, ch)
		}
	}
	return out
}

// knownBinary recognises formats DetectContentType leaves undecided.
func knownBinary(d []byte) bool {
	return len(d) >= 12 && string(d[4:8]) == "ftyp" // MP4, MOV, HEIC, AVIF
}
