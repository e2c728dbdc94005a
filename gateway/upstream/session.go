package upstream

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
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
// (there is none yet); it is the service misbehaving. A 400 cannot be
// about the client's request either (the body carries nothing of it): it
// is this account's state, and another account may serve.
func sessionCallError(err error) error {
	if e, ok := err.(*Error); ok {
		switch e.Kind {
		case KindSessionGone:
			e.Kind = KindTransient
		case KindBadRequest:
			e.Kind = KindAccountState
		}
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
