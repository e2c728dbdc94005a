package accounts

import (
	"context"
	"time"
)

// QuotaStore keeps per-kind quotas of the accounts (turns served per day
// and cooldowns, for each kind of turn: "text", "image", "video") where
// every gateway sharing the database sees them, so a restart or a second
// instance never spends quota the upstream has already refused. app/store
// implements it; gateway/pool uses it when its store does.
type QuotaStore interface {
	// AddKindTurns adds n turns of kind to account id's count of day (the
	// gateway's local date, YYYY-MM-DD), in SQL so that concurrent writers
	// add up, and returns the new count.
	AddKindTurns(ctx context.Context, day string, id int64, kind string, n int64) (int64, error)
	// KindTurns lists every account's counts of day.
	KindTurns(ctx context.Context, day string) ([]KindTurns, error)
	// SetKindCooldown keeps account id from kind until the given time.
	SetKindCooldown(ctx context.Context, id int64, kind string, until time.Time, reason string) error
	// KindCooldowns lists the cooldowns still running at now.
	KindCooldowns(ctx context.Context, now time.Time) ([]KindCooldown, error)
	// PruneKindQuotas deletes the counts of days before beforeDay and the
	// cooldowns over at now.
	PruneKindQuotas(ctx context.Context, beforeDay string, now time.Time) error
}

// KindTurns is how many turns of one kind an account served on one day.
type KindTurns struct {
	AccountID int64
	Kind      string
	Turns     int64
}

// KindCooldown keeps an account from one kind of turn until a time.
type KindCooldown struct {
	AccountID int64
	Kind      string
	Until     time.Time
	Reason    string
}
