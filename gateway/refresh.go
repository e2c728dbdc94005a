package gateway

import (
	"context"
	"time"

	"github.com/gemgate/gemini-gateway/gateway/pool"
)

// Results of a refresh, as POST /api/admin/accounts/{id}/refresh reports
// them.
const (
	RefreshRefreshed   = "refreshed"     // new cookies were obtained and saved
	RefreshUnchanged   = "unchanged"     // the cookies still sign in as they are
	RefreshNeedsSignIn = "needs_sign_in" // the sign-in is over
)

// RefreshOutcome is what a refresh did.
type RefreshOutcome struct {
	Result    string    // RefreshRefreshed, RefreshUnchanged or RefreshNeedsSignIn
	ExpiresAt time.Time // the cookie's expiry afterwards; zero when unknown
}

// Refresher refreshes an account's cookies now. The admin refresh endpoint
// calls it; Deps.Refresher sets it, and PoolRefresher (the browserless
// refresh) is the default. A browser-based refresher wraps it.
type Refresher interface {
	Refresh(ctx context.Context, accountID int64) (RefreshOutcome, error)
}

// PoolRefresher is the browserless Refresher: a getoxsrf with the stored
// cookies, following a refreshcookies redirect when the upstream offers
// one (pool.Pool.Refresh).
type PoolRefresher struct{ Pool *pool.Pool }

// Refresh implements Refresher.
func (r PoolRefresher) Refresh(ctx context.Context, id int64) (RefreshOutcome, error) {
	o, err := r.Pool.Refresh(ctx, id)
	if err != nil {
		return RefreshOutcome{}, err
	}
	return RefreshOutcome{Result: string(o.Result), ExpiresAt: o.ExpiresAt}, nil
}
