package upstream

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

type createSessionRequest struct {
	Session struct {
		Name        string `json:"name"`
		DisplayName string `json:"displayName"`
	} `json:"session"`
}

type nameRequest struct {
	Name string `json:"name"`
}

type sessionResponse struct {
	Session struct {
		Name string `json:"name"`
	} `json:"session"`
}

// CreateSession opens a new upstream conversation and returns its name.
func (c *Client) CreateSession(ctx context.Context, cr Credentials) (string, error) {
	const op = "widgetCreateSession"
	var out sessionResponse
	if err := c.call(ctx, cr, op, &envelope{
		ConfigID: cr.ConfigID, AdditionalParams: additionalParams,
		CreateSessionRequest: &createSessionRequest{},
	}, c.cfg.RequestTimeout, &out); err != nil {
		return "", sessionCallError(err)
	}
	if out.Session.Name == "" {
		return "", &Error{Op: op, Kind: KindTransient, Message: "upstream created a session without a name"}
	}
	return out.Session.Name, nil
}

// sessionCallError: a 404 on createSession is not about a lost session
// (there is none yet); it is the service misbehaving.
func sessionCallError(err error) error {
	if e, ok := err.(*Error); ok && e.Kind == KindSessionGone {
		e.Kind = KindTransient
	}
	return err
}

// DeleteSession removes a session (health checks clean up after themselves).
func (c *Client) DeleteSession(ctx context.Context, cr Credentials, session string) error {
	return c.call(ctx, cr, "widgetDeleteSession", &envelope{
		ConfigID: cr.ConfigID, AdditionalParams: additionalParams,
		DeleteSessionRequest: &nameRequest{Name: session},
	}, c.cfg.RequestTimeout, nil)
}

type addContextFileRequest struct {
	Name         string `json:"name"`
	FileName     string `json:"fileName"`
	MIMEType     string `json:"mimeType"`
	FileContents []byte `json:"fileContents"` // encoding/json writes standard base64
}

// Upload is a file to attach to a session.
type Upload struct {
	MIMEType string
	Data     []byte
	// FileName is optional; a name like upload_<unix>_<hex>.<ext> is made up.
	FileName string
}

// AddContextFile uploads a file into a session and returns its file id,
// valid for that session only.
func (c *Client) AddContextFile(ctx context.Context, cr Credentials, session string, up Upload) (string, error) {
	const op = "widgetAddContextFile"
	name := up.FileName
	if name == "" {
		name = fmt.Sprintf("upload_%d_%s%s", c.cfg.Now().Unix(), randomHex(3), extForMIME(up.MIMEType))
	}
	var out struct {
		AddContextFileResponse struct {
			FileID string `json:"fileId"`
		} `json:"addContextFileResponse"`
	}
	if err := c.call(ctx, cr, op, &envelope{
		ConfigID: cr.ConfigID, AdditionalParams: additionalParams,
		AddContextFileRequest: &addContextFileRequest{Name: session, FileName: name, MIMEType: up.MIMEType, FileContents: up.Data},
	}, c.cfg.UploadTimeout, &out); err != nil {
		return "", err
	}
	if out.AddContextFileResponse.FileID == "" {
		return "", &Error{Op: op, Kind: KindTransient, Message: "upstream accepted the file without a file id"}
	}
	return out.AddContextFileResponse.FileID, nil
}

func extForMIME(m string) string {
	switch m {
	case "image/jpeg":
		return ".jpg"
	case "image/png":
		return ".png"
	case "image/webp":
		return ".webp"
	case "image/gif":
		return ".gif"
	case "application/pdf":
		return ".pdf"
	case "text/plain":
		return ".txt"
	}
	return ""
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

type listFilesRequest struct {
	Name   string `json:"name"`
	Filter string `json:"filter,omitempty"`
}

// FileMetadata describes a file stored in a session.
type FileMetadata struct {
	FileID   string `json:"fileId"`
	Session  string `json:"session"`
	Name     string `json:"name"`
	MIMEType string `json:"mimeType"`
	ByteSize string `json:"byteSize"`
}

// GeneratedFiles lists the AI-generated files of a session.
func (c *Client) GeneratedFiles(ctx context.Context, cr Credentials, session string) ([]FileMetadata, error) {
	var out struct {
		Resp struct {
			FileMetadata []FileMetadata `json:"fileMetadata"`
		} `json:"listSessionFileMetadataResponse"`
	}
	err := c.call(ctx, cr, "widgetListSessionFileMetadata", &envelope{
		ConfigID: cr.ConfigID, AdditionalParams: additionalParams,
		ListFilesRequest: &listFilesRequest{Name: session, Filter: "file_origin_type = AI_GENERATED"},
	}, c.cfg.RequestTimeout, &out)
	return out.Resp.FileMetadata, err
}

// maxDownload bounds one generated file.
const maxDownload = 64 << 20

// DownloadFile fetches a generated file's bytes. session must be the
// projects/… form reported by the metadata. Some answers carry base64 text
// instead of bytes; that is decoded.
func (c *Client) DownloadFile(ctx context.Context, cr Credentials, session, fileID string) ([]byte, error) {
	const op = "downloadFile"
	ctx, cancel := context.WithTimeout(ctx, c.cfg.UploadTimeout)
	defer cancel()
	u := c.cfg.APIURL + "/v1alpha/" + session + ":downloadFile?fileId=" + url.QueryEscape(fileID) + "&alt=media"
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
		resp, err := c.http.Do(req)
		if err != nil {
			return nil, networkError(op, err)
		}
		b, err := io.ReadAll(io.LimitReader(resp.Body, maxDownload))
		resp.Body.Close()
		if err != nil {
			return nil, networkError(op, err)
		}
		if resp.StatusCode == http.StatusUnauthorized && attempt == 0 {
			c.tokens.invalidate(cr.AccountID, jwt)
			continue
		}
		if resp.StatusCode != http.StatusOK {
			return nil, httpError(op, resp.StatusCode, resp.Header, b)
		}
		return maybeBase64(b), nil
	}
}

// maybeBase64 decodes a body that is base64 text of a PNG or JPEG.
func maybeBase64(b []byte) []byte {
	s := strings.TrimSpace(string(b))
	if !strings.HasPrefix(s, "iVBORw0KGgo") && !strings.HasPrefix(s, "/9j/") {
		return b
	}
	if d, err := base64.StdEncoding.DecodeString(s); err == nil {
		return d
	}
	return b
}

// CheckResult is the outcome of CheckAccount.
type CheckResult struct {
	Latency time.Duration
}

// CheckAccount proves that an account works end to end without chatting:
// a fresh signing key (getoxsrf), then opening a session, which it deletes
// again so checks leave no trail of empty conversations.
func (c *Client) CheckAccount(ctx context.Context, cr Credentials) (CheckResult, error) {
	start := c.cfg.Now()
	c.tokens.invalidateAll(cr.AccountID)
	session, err := c.CreateSession(ctx, cr)
	if err != nil {
		return CheckResult{}, err
	}
	// Deleting is housekeeping: a failure there does not fail the check.
	_ = c.DeleteSession(ctx, cr, session)
	return CheckResult{Latency: c.cfg.Now().Sub(start)}, nil
}
