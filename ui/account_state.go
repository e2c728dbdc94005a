package ui

// AccountState is an account's condition as the UI shows it. Package app
// produces it from the pool's state in one place (uiAccountState in
// app/controller.go); panels and the tray switch on it.
type AccountState int

// The zero value is AccountUnchecked: nothing is known yet.
const (
	AccountUnchecked   AccountState = iota // never checked, or state unknown
	AccountHealthy                         // the last check or request worked
	AccountCooling                         // resting after a rate limit or errors
	AccountExpired                         // cookies expired; a refresh may save it
	AccountBanned                          // the upstream refuses the account
	AccountUnhealthy                       // checks fail for another reason
	AccountDisabled                        // switched off, by the person or automatically
	AccountNeedsSignIn                     // the sign-in is over; only signing in again helps
)

// Label is the state as a short phrase ("cooling down", "needs sign-in").
func (s AccountState) Label() string {
	switch s {
	case AccountHealthy:
		return "healthy"
	case AccountCooling:
		return "cooling down"
	case AccountExpired:
		return "expired"
	case AccountBanned:
		return "banned"
	case AccountUnhealthy:
		return "unhealthy"
	case AccountDisabled:
		return "disabled"
	case AccountNeedsSignIn:
		return "needs sign-in"
	default:
		return "unchecked"
	}
}

// String is Label, so states print readably in test failures.
func (s AccountState) String() string { return s.Label() }

// NeedsSignIn reports whether only signing in again brings a back.
func (a Account) NeedsSignIn() bool { return a.State == AccountNeedsSignIn }

// accountKind maps an account's state to its colour family; a disabled
// account is "off" whatever its last known health was.
func accountKind(a Account) stateKind {
	if !a.Enabled {
		return kindOff
	}
	switch a.State {
	case AccountHealthy:
		return kindGood
	case AccountCooling:
		return kindWarn
	case AccountExpired, AccountBanned, AccountUnhealthy, AccountNeedsSignIn:
		return kindBad
	case AccountDisabled:
		return kindOff
	default:
		return kindNeutral
	}
}

// stateLabel is the state as a short word; a disabled account says so
// whatever its last known health was.
func stateLabel(a Account) string {
	if !a.Enabled {
		return AccountDisabled.Label()
	}
	return a.State.Label()
}
