package app

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"time"

	"github.com/gemgate/gemini-gateway/app/store"
)

// privateDataDir creates the data directory, or makes an existing one
// private (0700): it holds the database, the admin key and the settings.
func privateDataDir(dir string, log *slog.Logger) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("GATEWAY_DATA_DIR: cannot create %s: %w", dir, err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("GATEWAY_DATA_DIR: %w", err)
	}
	if err := ownedPrivately(fi, 0); err != nil {
		return fmt.Errorf("GATEWAY_DATA_DIR: %s %v; use a directory of your own", dir, err)
	}
	if fi.Mode().Perm() != 0o700 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("GATEWAY_DATA_DIR: cannot make %s private (0700): %w", dir, err)
		}
		log.Warn("data directory was open to other users; made it private", "path", dir,
			"was", fmt.Sprintf("%#o", fi.Mode().Perm()&fs.ModePerm), "now", "0700")
	}
	return nil
}

// runClientWork writes usage to the database every few seconds and, on a
// shared PostgreSQL pool, picks up client keys other instances made,
// rotated or revoked.
func (a *App) runClientWork() {
	flush := time.NewTicker(5 * time.Second)
	defer flush.Stop()
	var reload <-chan time.Time
	if a.Store.Dialect() == store.DialectPostgres {
		t := time.NewTicker(10 * time.Second)
		defer t.Stop()
		reload = t.C
	}
	for {
		select {
		case <-a.ctx.Done():
			a.flushUsage()
			return
		case <-flush.C:
			if err := a.Usage.Flush(a.ctx); err != nil && a.ctx.Err() == nil {
				a.Log.Warn("write usage", "err", err)
			}
		case <-reload:
			if err := a.Server.ReloadClientKeys(a.ctx); err != nil && a.ctx.Err() == nil {
				a.Log.Warn("read client keys", "err", err)
			}
		}
	}
}

func (a *App) flushUsage() {
	ctx, cancel := contextWithTimeout(5 * time.Second)
	defer cancel()
	if err := a.Usage.Flush(ctx); err != nil {
		a.Log.Warn("write usage at shutdown", "err", err)
	}
}

func contextWithTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}
