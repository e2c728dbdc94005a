// Package ui is the desktop interface: a window with one panel per concern
// (overview, accounts, health, chat, settings, logs) and the tray menu. It
// sees the rest of the program only through Controller, which package app
// implements, so every panel can be tested with a fake controller, the Fyne
// test driver and no network.
//
// Threading: Controller methods may block (network, keychain, database);
// panels call them from their own goroutines, never from the Fyne goroutine,
// and bring results back through the Dispatch they were given (fyne.Do in
// the app, a direct call in tests).
package ui

import (
	"context"
	"time"
)

// Dispatch runs f on the UI goroutine.
type Dispatch func(f func())

// Controller is everything the UI may ask of the program.
type Controller interface {
	// Status is the gateway's state for the Overview and the tray.
	Status() Status
	StartGateway() error
	StopGateway() error
	// UsePort switches to another port (saved) and restarts the gateway;
	// offered when the configured port is taken.
	UsePort(port int) error
	// BaseURL is the OpenAI base URL clients should use, e.g.
	// http://127.0.0.1:7860/v1.
	BaseURL() string
	APIKey() string
	RegenerateAPIKey() (string, error)

	// Accounts lists every account, the read-only one from the
	// environment included.
	Accounts() []Account
	// AddAccount and UpdateAccount validate; a *FieldErrors error names each
	// bad field so the form can show it next to the field. In UpdateAccount
	// empty secret fields keep the stored values.
	AddAccount(in AccountInput) (Account, error)
	UpdateAccount(id int64, in AccountInput) (Account, error)
	DeleteAccount(id int64) error
	SetEnabled(id int64, on bool) error
	// ParseImport reads pasted text in any supported format (JSON export,
	// .env block, cookie header + URL, Copy as cURL) without adding anything.
	ParseImport(text string) ImportPreview
	// Import adds the accounts of a preview.
	Import(items []AccountInput) ImportResult
	CheckAccount(ctx context.Context, id int64) CheckResult
	// SignIn opens the browser so the person signs in to Gemini Business:
	// to account id again (updated in place), or with id 0 to a new account
	// called name. It blocks until the sign-in ends. ErrNoBrowser and
	// ErrSignInCancelled (wrapped) let the UI answer in kind.
	SignIn(ctx context.Context, id int64, name string) (Account, error)
	// CheckAll checks every enabled account; progress is called from a
	// background goroutine.
	CheckAll(ctx context.Context, progress func(done, total int)) HealthSummary

	// Models are the model ids the gateway serves.
	Models() []string
	// UnavailableModels are the served models the upstream currently
	// refuses, with the reason.
	UnavailableModels() map[string]string
	// Chat sends a chat completion through the local gateway over real
	// HTTP (what an IDE sees) and streams what comes back to on, from a
	// background goroutine, until the answer ends, fails or ctx is cancelled.
	Chat(ctx context.Context, req ChatRequest, on func(ChatEvent)) error
	// GeneratedFile reads a file the gateway generated (an image of an
	// answer) by its name under /files/, from the local gateway.
	GeneratedFile(ctx context.Context, name string) ([]byte, error)

	// Settings returns every editable setting with its current value and
	// where it comes from.
	Settings() []Setting
	// SaveSettings validates and stores changed values (by Setting.Name),
	// applying at once what can be applied live. A *FieldErrors error names
	// each rejected setting.
	SaveSettings(values map[string]string) (SaveResult, error)

	// RecentRequests is the request log so far, newest last.
	RecentRequests() []RequestRow
	// Subscribe calls fn (from a background goroutine) for every event until
	// the returned cancel is called.
	Subscribe(fn func(Event)) (cancel func())
}

// GatewayState summarises the gateway for the tray icon.
type GatewayState string

const (
	StateServing  GatewayState = "serving"   // running, every enabled account usable
	StateDegraded GatewayState = "degraded"  // running, some accounts down
	StateNoUsable GatewayState = "no-usable" // running, no account can serve
	StateStopped  GatewayState = "stopped"
)

// Status is the gateway's state.
type Status struct {
	Running bool
	State   GatewayState
	Addr    string // host:port
	// Err is the last start failure, if any.
	Err string
	// PortInUse is set when the configured port belongs to another program;
	// SuggestedPort is a free one to offer.
	PortInUse     bool
	SuggestedPort int

	ActiveStreams int64
	RequestsToday int64
	Usable, Total int
	// SecretWarning explains why accounts cannot be added (no keychain and
	// no GATEWAY_SECRET_KEY), empty when all is well.
	SecretWarning string
	// SecretStore names where new secrets go ("the OS keychain", …).
	SecretStore string
	DataDir     string
	Version     string
	// ExpiryNotice is how long before an account's sign-in expires the
	// person is told (EXPIRY_NOTICE); 0 means never.
	ExpiryNotice time.Duration
}

// Account is one account as the UI shows it. It carries no secret values.
type Account struct {
	ID       int64
	Name     string
	ConfigID string
	Enabled  bool
	ReadOnly bool // from the environment: cannot be edited or deleted
	// State is the account's condition; Reason says why.
	State         AccountState
	Reason        string
	Usable        bool
	LastUsed      time.Time // zero: never
	Requests      int64
	CooldownUntil time.Time // zero: not cooling
	LastCheck     time.Time // zero: never checked
	LastCheckOK   bool
	LastLatency   time.Duration
	LastMessage   string
	// Hints describe the secrets without revealing them ("…a1b2", "set", "").
	HintSecureCSES, HintHostCOSES, HintCSESIDX string
	// ExpiresAt is the sign-in cookie's expiry, LastSignInAt and
	// LastRefreshAt when it was made and last refreshed (zero: unknown).
	ExpiresAt, LastSignInAt, LastRefreshAt time.Time
	// BrowserProfile: the account was signed in with the browser, so it can
	// be refreshed silently.
	BrowserProfile bool
	// Quotas are the account's turns today and cooldowns per kind (text,
	// image, video).
	Quotas []Quota
}

// AccountInput is what the add/edit form and imports produce.
type AccountInput struct {
	Name       string
	SecureCSES string
	HostCOSES  string
	CSESIDX    string
	ConfigID   string
	Enabled    bool
}

// FieldErrors maps a field (or setting) name to what is wrong with it. Field
// names for accounts: "name", "secure_c_ses", "host_c_oses", "csesidx",
// "config_id"; "" for an error not tied to a field.
type FieldErrors map[string]string

func (f *FieldErrors) Error() string {
	for k, v := range *f {
		if k == "" {
			return v
		}
		return k + ": " + v
	}
	return "invalid input"
}

// ImportPreview is what a paste would add.
type ImportPreview struct {
	Format   string // "json", "env", "cookie", "curl", "unknown"
	Items    []ImportItem
	Problems []string
}

// ImportItem is one account found in a paste.
type ImportItem struct {
	Input AccountInput
	// Hint describes the secrets safely, for the preview table.
	Hint string
}

// ImportResult reports an import.
type ImportResult struct {
	Added    []string // names
	Problems []string
}

// CheckResult is one health check.
type CheckResult struct {
	OK       bool
	Latency  time.Duration
	Message  string
	Disabled bool
}

// HealthSummary is a round of checks.
type HealthSummary struct {
	Checked, Healthy, Failed, Disabled int
	Took                               time.Duration
}

// ChatRequest is what the test chat sends.
type ChatRequest struct {
	Model    string
	System   string
	Messages []ChatMessage
}

// ChatMessage is one turn of the test chat.
type ChatMessage struct {
	Role   string // "user" or "assistant"
	Text   string
	Images []ChatImage
}

// ChatImage is an attached image.
type ChatImage struct {
	MIME string
	Data []byte
}

// ChatEventKind says what a ChatEvent carries.
type ChatEventKind int

const (
	ChatContent   ChatEventKind = iota + 1 // Text is an answer delta
	ChatReasoning                          // Text is a reasoning delta
	ChatRaw                                // Text is one raw SSE frame ("data: …")
	ChatDone                               // the answer is complete; Stats set
	ChatError                              // Err set; Stats may be partial
)

// ChatEvent is one step of a streamed reply.
type ChatEvent struct {
	Kind  ChatEventKind
	Text  string
	Err   error
	Stats ChatStats
}

// ChatStats describe a reply.
type ChatStats struct {
	TTFT         time.Duration // request sent → first token
	Duration     time.Duration
	Tokens       int     // completion tokens (the gateway's estimate)
	TokensPerSec float64 // Tokens over the time after the first token
	Account      string
	Model        string // the model actually served
	RequestID    string
}

// Setting is one editable setting.
type Setting struct {
	Name  string // the environment variable name, e.g. "PORT"
	Label string
	Help  string
	Value string
	// Default is what an empty value means ("127.0.0.1", "the system's");
	// the panel shows it in an empty field.
	Default string
	// Kind tells the panel which widget to use.
	Kind    SettingKind
	Options []string // for SettingChoice
	// Secret values are shown masked.
	Secret bool
	// OverriddenBy is non-empty when a flag, the environment or a .env file
	// sets this variable: saved values do not apply until that is removed.
	OverriddenBy string
	// Restart is true when a change applies only after a restart.
	Restart bool
	Group   string // the card it is shown on; cards follow the order of their first setting
}

// SettingKind selects a setting's widget.
type SettingKind int

const (
	SettingText SettingKind = iota
	SettingNumber
	SettingBool
	SettingChoice
	SettingDuration
)

// SaveResult tells what saving did.
type SaveResult struct {
	Applied []string // applied at once
	Restart []string // need a restart of the app
}

// EventKind names an Event.
type EventKind int

const (
	EventAccounts EventKind = iota + 1 // accounts or their states changed
	EventGateway                       // the gateway started, stopped or failed
	EventRequest                       // a request finished; Request set
	EventHealth                        // a health round finished; Health set
)

// Event is a change the UI reacts to.
type Event struct {
	Kind    EventKind
	Request *RequestRow
	Health  *HealthSummary
}

// RequestRow is one line of the request log: never a prompt, an answer or
// a secret.
type RequestRow struct {
	ID       string
	Time     time.Time
	Path     string
	Model    string // served
	Account  string
	Status   int
	Stream   bool
	Latency  time.Duration
	TTFT     time.Duration
	Tokens   int
	Error    string
	Attempts int
}
