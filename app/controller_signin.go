//go:build !nogui

package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/gemgate/gemini-gateway/gateway/signin"
	"github.com/gemgate/gemini-gateway/ui"
)

// SignIn runs the browser sign-in for the UI: account id again, or a new
// account called name (a name is made up when empty).
func (c *controller) SignIn(ctx context.Context, id int64, name string) (ui.Account, error) {
	a := c.a
	if id == 0 && name == "" {
		name = c.freeName()
	}
	acct, _, err := SignInAccount(ctx, a.Signer, a.Accounts, a.Redactor, id, name)
	switch {
	case errors.Is(err, signin.ErrNoBrowser):
		return ui.Account{}, fmt.Errorf("%w: %v", ui.ErrNoBrowser, err)
	case errors.Is(err, signin.ErrCancelled):
		return ui.Account{}, fmt.Errorf("%w: %v", ui.ErrSignInCancelled, err)
	case err != nil:
		return ui.Account{}, fieldErrors(err)
	}
	for _, v := range a.Pool.Snapshot() {
		if v.ID == acct.ID {
			return uiAccount(v), nil
		}
	}
	return ui.Account{ID: acct.ID, Name: acct.Name}, nil
}

// freeName is "account N" for the first N no account uses.
func (c *controller) freeName() string {
	used := map[string]bool{}
	for _, v := range c.a.Pool.Snapshot() {
		used[v.Name] = true
	}
	for n := len(used) + 1; ; n++ {
		if name := fmt.Sprintf("account %d", n); !used[name] {
			return name
		}
	}
}
