package ui

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"
)

// fakeController is an in-memory Controller. Everything it does is
// synchronous except Chat, which plays events the test feeds through
// chatEvents, as the real one does from its own goroutine.
type fakeController struct {
	generated   map[string][]byte // GeneratedFile's files by name
	unavailable map[string]string // UnavailableModels
	mu          sync.Mutex

	status   Status
	accounts []Account
	nextID   int64
	baseURL  string
	apiKey   string
	models   []string
	settings []Setting
	recent   []RequestRow

	// Errors to return.
	addErr, updateErr, deleteErr, enableErr, saveErr, startErr, stopErr error

	// Canned answers.
	preview    ImportPreview
	importRes  ImportResult
	checkRes   map[int64]CheckResult
	summary    HealthSummary
	progress   []int // CheckAll reports done=1..n of len(progress) … (values are ignored, the length is the total)
	onProgress func(done, total int)
	saveRes    SaveResult

	// Calls seen.
	added      []AccountInput
	updated    map[int64]AccountInput
	deleted    []int64
	enabled    []enableCall
	parsed     []string
	imported   [][]AccountInput
	checked    []int64
	checkAlls  int
	saved      []map[string]string
	usedPorts  []int
	starts     int
	stops      int
	regenCalls int

	// Chat.
	chatEvents    chan ChatEvent
	chatReqs      []ChatRequest
	chatCancelled chan struct{}

	subs map[int]func(Event)
	subN int

	// Browser sign-ins asked for, and the error to answer them with.
	signIns   []signInCall
	signInErr error
}

type enableCall struct {
	id int64
	on bool
}

func newFake() *fakeController {
	return &fakeController{
		status: Status{
			Running: true, State: StateServing, Addr: "127.0.0.1:7860",
			SecretStore: "the OS keychain", Version: "test",
		},
		nextID:   1,
		baseURL:  "http://127.0.0.1:7860/v1",
		apiKey:   "sk-gg-0123456789abcdefa1b2",
		models:   []string{"gemini-auto", "gemini-2.5-flash", "gemini-2.5-pro"},
		checkRes: map[int64]CheckResult{},
		updated:  map[int64]AccountInput{},
		subs:     map[int]func(Event){},
	}
}

// addAccount puts an account in the store directly (set-up, not a call).
func (f *fakeController) addAccount(a Account) Account {
	f.mu.Lock()
	defer f.mu.Unlock()
	if a.ID == 0 {
		a.ID = f.nextID
	}
	f.nextID = max(f.nextID, a.ID) + 1
	f.accounts = append(f.accounts, a)
	f.recount()
	return a
}

// mutate changes a stored account (as the gateway would) without
// publishing.
func (f *fakeController) mutate(id int64, fn func(*Account)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.accounts {
		if f.accounts[i].ID == id {
			fn(&f.accounts[i])
		}
	}
	f.recount()
}

func (f *fakeController) recount() {
	f.status.Total = len(f.accounts)
	f.status.Usable = 0
	for _, a := range f.accounts {
		if a.Usable {
			f.status.Usable++
		}
	}
}

// publish delivers ev to the subscribers on the calling goroutine.
func (f *fakeController) publish(ev Event) {
	f.mu.Lock()
	subs := make([]func(Event), 0, len(f.subs))
	for _, s := range f.subs {
		subs = append(subs, s)
	}
	f.mu.Unlock()
	for _, s := range subs {
		s(ev)
	}
}

func (f *fakeController) subscribers() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.subs)
}

func (f *fakeController) Status() Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.status
}

func (f *fakeController) StartGateway() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.starts++
	if f.startErr != nil {
		return f.startErr
	}
	f.status.Running = true
	f.status.State = StateServing
	return nil
}

func (f *fakeController) StopGateway() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stops++
	if f.stopErr != nil {
		return f.stopErr
	}
	f.status.Running = false
	f.status.State = StateStopped
	return nil
}

func (f *fakeController) UsePort(port int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.usedPorts = append(f.usedPorts, port)
	f.status.PortInUse = false
	f.status.Running = true
	f.status.Addr = "127.0.0.1:" + strconv.Itoa(port)
	f.baseURL = "http://127.0.0.1:" + strconv.Itoa(port) + "/v1"
	return nil
}

func (f *fakeController) BaseURL() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.baseURL
}

func (f *fakeController) APIKey() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.apiKey
}

func (f *fakeController) RegenerateAPIKey() (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.regenCalls++
	f.apiKey = "sk-gg-newnewnewnewnewnewz9y8"
	return f.apiKey, nil
}

func (f *fakeController) Accounts() []Account {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Account(nil), f.accounts...)
}

func (f *fakeController) AddAccount(in AccountInput) (Account, error) {
	f.mu.Lock()
	f.added = append(f.added, in)
	err := f.addErr
	f.mu.Unlock()
	if err != nil {
		return Account{}, err
	}
	return f.addAccount(Account{Name: in.Name, ConfigID: in.ConfigID, Enabled: in.Enabled, State: AccountUnchecked}), nil
}

func (f *fakeController) UpdateAccount(id int64, in AccountInput) (Account, error) {
	f.mu.Lock()
	f.updated[id] = in
	err := f.updateErr
	f.mu.Unlock()
	if err != nil {
		return Account{}, err
	}
	f.mutate(id, func(a *Account) { a.Name, a.ConfigID, a.Enabled = in.Name, in.ConfigID, in.Enabled })
	return Account{ID: id, Name: in.Name}, nil
}

func (f *fakeController) DeleteAccount(id int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deleted = append(f.deleted, id)
	if f.deleteErr != nil {
		return f.deleteErr
	}
	out := f.accounts[:0]
	for _, a := range f.accounts {
		if a.ID != id {
			out = append(out, a)
		}
	}
	f.accounts = out
	f.recount()
	return nil
}

func (f *fakeController) SetEnabled(id int64, on bool) error {
	f.mu.Lock()
	f.enabled = append(f.enabled, enableCall{id, on})
	err := f.enableErr
	f.mu.Unlock()
	if err != nil {
		return err
	}
	f.mutate(id, func(a *Account) { a.Enabled = on })
	return nil
}

func (f *fakeController) ParseImport(text string) ImportPreview {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.parsed = append(f.parsed, text)
	return f.preview
}

func (f *fakeController) Import(items []AccountInput) ImportResult {
	f.mu.Lock()
	f.imported = append(f.imported, items)
	res := f.importRes
	f.mu.Unlock()
	for _, it := range items {
		f.addAccount(Account{Name: it.Name, ConfigID: it.ConfigID, Enabled: it.Enabled, State: AccountUnchecked})
	}
	return res
}

func (f *fakeController) CheckAccount(ctx context.Context, id int64) CheckResult {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.checked = append(f.checked, id)
	return f.checkRes[id]
}

func (f *fakeController) CheckAll(ctx context.Context, progress func(done, total int)) HealthSummary {
	f.mu.Lock()
	f.checkAlls++
	total := len(f.progress)
	hook := f.onProgress
	sum := f.summary
	f.mu.Unlock()
	for i := 1; i <= total; i++ {
		progress(i, total)
		if hook != nil {
			hook(i, total)
		}
	}
	return sum
}

func (f *fakeController) Models() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.models...)
}

// Chat records the request and plays the events the test sends on
// chatEvents until ChatDone or ChatError, or until ctx ends (then it closes
// chatCancelled).
func (f *fakeController) Chat(ctx context.Context, req ChatRequest, on func(ChatEvent)) error {
	f.mu.Lock()
	f.chatReqs = append(f.chatReqs, req)
	events, cancelled := f.chatEvents, f.chatCancelled
	f.mu.Unlock()
	for {
		select {
		case <-ctx.Done():
			if cancelled != nil {
				close(cancelled)
			}
			return ctx.Err()
		case ev := <-events:
			on(ev)
			switch ev.Kind {
			case ChatDone:
				return nil
			case ChatError:
				return ev.Err
			}
		}
	}
}

func (f *fakeController) requests() []ChatRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]ChatRequest(nil), f.chatReqs...)
}

func (f *fakeController) Settings() []Setting {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Setting(nil), f.settings...)
}

func (f *fakeController) SaveSettings(values map[string]string) (SaveResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	cp := map[string]string{}
	for k, v := range values {
		cp[k] = v
	}
	f.saved = append(f.saved, cp)
	if f.saveErr != nil {
		return SaveResult{}, f.saveErr
	}
	for i := range f.settings {
		if v, ok := values[f.settings[i].Name]; ok {
			f.settings[i].Value = strings.TrimSpace(v)
		}
	}
	return f.saveRes, nil
}

func (f *fakeController) RecentRequests() []RequestRow {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]RequestRow(nil), f.recent...)
}

func (f *fakeController) Subscribe(fn func(Event)) func() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.subN++
	n := f.subN
	f.subs[n] = fn
	return func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		delete(f.subs, n)
	}
}

// Compile-time check.
var _ Controller = (*fakeController)(nil)

// recentRow is a request log row for tests.
func recentRow(id, model, account string, status int, at time.Time) RequestRow {
	return RequestRow{ID: id, Time: at, Path: "/v1/chat/completions", Model: model, Account: account, Status: status, Stream: true, Latency: 900 * time.Millisecond, TTFT: 300 * time.Millisecond, Tokens: 42}
}

func (f *fakeController) SignIn(ctx context.Context, id int64, name string) (Account, error) {
	f.mu.Lock()
	f.signIns = append(f.signIns, signInCall{id: id, name: name})
	err := f.signInErr
	f.mu.Unlock()
	if err != nil {
		return Account{}, err
	}
	if id == 0 {
		return f.addAccount(Account{Name: name, Enabled: true, State: AccountHealthy, Usable: true}), nil
	}
	f.mutate(id, func(a *Account) { a.State = AccountHealthy; a.Usable = true })
	for _, a := range f.Accounts() {
		if a.ID == id {
			return a, nil
		}
	}
	return Account{}, errors.New("no such account")
}

type signInCall struct {
	id   int64
	name string
}

// GeneratedFile serves the test's generatedFiles by name.
func (f *fakeController) GeneratedFile(ctx context.Context, name string) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if b, ok := f.generated[name]; ok {
		return b, nil
	}
	return nil, errors.New("no such file")
}

// UnavailableModels returns the test's refused models.
func (f *fakeController) UnavailableModels() map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.unavailable
}
