//go:build !nogui

package app

import (
	"context"
	"errors"
	"time"

	"github.com/gemgate/gemini-gateway/gateway"
	"github.com/gemgate/gemini-gateway/gateway/clients"
	"github.com/gemgate/gemini-gateway/gateway/usage"
	"github.com/gemgate/gemini-gateway/ui"
)

var _ ui.ClientsController = (*controller)(nil)

// The desktop window manages client keys and reads usage through the
// gateway's own methods, in process: it holds the admin credential by
// being the app, and never calls the admin API over HTTP.

func toUIKey(k clients.Key) ui.ClientKey {
	return ui.ClientKey{ID: k.ID, Name: k.Name, Hint: k.Hint, RequestsPerMinute: k.RequestsPerMinute,
		Models: k.Models, CreatedAt: k.CreatedAt, Builtin: k.Builtin}
}

func (c *controller) ClientKeys() ([]ui.ClientKey, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.a.Server.ReloadClientKeys(ctx); err != nil {
		return nil, err
	}
	var out []ui.ClientKey
	for _, k := range c.a.Server.ClientKeys() {
		out = append(out, toUIKey(k))
	}
	return out, nil
}

func (c *controller) CreateClientKey(in ui.NewClientKey) (ui.ClientKey, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	k, key, err := c.a.Server.CreateClientKey(ctx, gateway.NewClientKeyRequest{Name: in.Name, RequestsPerMinute: in.RequestsPerMinute, Models: in.Models})
	if err != nil {
		var ke *gateway.ClientKeyError
		if errors.As(err, &ke) {
			return ui.ClientKey{}, "", &ui.FieldErrors{ke.Field: ke.Msg}
		}
		if errors.Is(err, clients.ErrDuplicate) {
			return ui.ClientKey{}, "", &ui.FieldErrors{"name": "A client key with that name already exists."}
		}
		return ui.ClientKey{}, "", err
	}
	return toUIKey(k), key, nil
}

func (c *controller) RevokeClientKey(id int64) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return c.a.Server.RevokeClientKey(ctx, id)
}

func (c *controller) RotateClientKey(id int64) (ui.ClientKey, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	k, key, err := c.a.Server.RotateClientKey(ctx, id)
	if err != nil {
		return ui.ClientKey{}, "", err
	}
	return toUIKey(k), key, nil
}

func (c *controller) Usage(from, to time.Time, groupBy string) ([]ui.UsageRow, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.a.Usage.Flush(ctx); err != nil {
		c.a.Log.Warn("write usage", "err", err)
	}
	rows, err := c.a.Store.UsageDays(ctx, from.Format(time.DateOnly), to.Format(time.DateOnly))
	if err != nil {
		return nil, err
	}
	var out []ui.UsageRow
	for _, r := range usage.Group(rows, groupBy) {
		name := ""
		switch groupBy {
		case ui.UsageByClient:
			name = r.Client
		case ui.UsageByAccount:
			name = r.Account
		case ui.UsageByModel:
			name = r.Model
		}
		out = append(out, ui.UsageRow{Day: r.Day, Name: name, Requests: r.Requests, Errors: r.Errors,
			PromptTokens: r.PromptTokens, CompletionTokens: r.CompletionTokens, ImagesIn: r.ImagesIn, FilesOut: r.FilesOut,
			TTFTP50: r.Percentile(0.5), TTFTP95: r.Percentile(0.95)})
	}
	return out, nil
}
