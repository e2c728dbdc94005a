package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gemgate/gemini-gateway/app/internal/pgtest"
	"github.com/gemgate/gemini-gateway/gateway"
	"github.com/gemgate/gemini-gateway/gateway/upstream/fakeupstream"
	"github.com/gemgate/gemini-gateway/internal/proctest"
)

func strict() bool { return os.Getenv("GATEWAY_TEST_STRICT") == "1" }

// needKeychain skips (fails in strict mode) without a session bus.
func needKeychain(t *testing.T) {
	t.Helper()
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") != "" {
		return
	}
	unavailable(t, "no D-Bus session (run inside `make test`, which starts one with an unlocked gnome-keyring)")
}

// unavailable skips a test whose service is missing, or fails it in strict
// mode (CI), where a skip would hide a broken set-up.
func unavailable(t *testing.T, msg string) {
	t.Helper()
	if strict() {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// lockedBuffer collects a log written from several goroutines.
type lockedBuffer = proctest.Buffer

// testApp is the real composition root, serving on a free loopback port in
// front of the fake upstream.
type testApp struct {
	*App
	base string
	key  string
	log  *lockedBuffer
	// bodies keeps every HTTP answer the test received, to scan for secrets.
	bodies *lockedBuffer
}

func startApp(t *testing.T, fake *fakeupstream.Server, vars map[string]string) *testApp {
	t.Helper()
	return startAppIn(t, t.TempDir(), fake, vars)
}

// startAppIn starts the app on data directory data (again, for a restart).
func startAppIn(t *testing.T, data string, fake *fakeupstream.Server, vars map[string]string) *testApp {
	t.Helper()
	// The port goes into the saved settings (as the Settings panel would put
	// it), so tests can change it like a user does.
	if err := SaveSettings(data, map[string]string{"PORT": "0", "API_KEY": "sk-test-" + fmt.Sprint(time.Now().UnixNano())}); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"GATEWAY_DATA_DIR":     data,
		"GEMINI_BUSINESS_URL":  fake.BusinessURL(),
		"GEMINI_AUTH_URL":      fake.AuthURL(),
		"GEMINI_API_URL":       fake.APIURL(),
		"HEALTH_CHECK_ENABLED": "false",
		"LOG_LEVEL":            "debug",
	}
	for k, v := range vars {
		env[k] = v
	}
	saved, err := LoadSettings(data)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := Resolve([]Layer{{Source: "settings", Vars: saved}, {Source: "test", Vars: env}})
	if err != nil {
		t.Fatal(err)
	}
	cfg.DataDir = data
	logs := &lockedBuffer{}
	a, err := Build(context.Background(), cfg, logs)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.StartGateway(); err != nil {
		t.Fatal(err)
	}
	ta := &testApp{App: a, base: "http://" + a.Server.Addr(), key: cfg.Gateway.APIKey, log: logs, bodies: &lockedBuffer{}}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		a.Close(ctx)
		if t.Failed() {
			t.Logf("app log:\n%s", logs.String())
		}
	})
	return ta
}

func (a *testApp) call(t *testing.T, method, path, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, a.base+path, strings.NewReader(body))
	key := a.key
	if strings.HasPrefix(path, "/api/") {
		key = a.Config().Gateway.AdminKey // admin routes take the admin key
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a.bodies.Write(b)
	return resp.StatusCode, string(b)
}

func addAccount(t *testing.T, a *testApp, name string, d fakeupstream.Account) int64 {
	t.Helper()
	body := fmt.Sprintf(`{"name":%q,"secure_c_ses":%q,"host_c_oses":%q,"csesidx":%q,"config_id":%q}`, name, d.SecureCSES, d.HostCOSES, d.CSESIDX, d.ConfigID)
	code, out := a.call(t, "POST", "/api/admin/accounts", body)
	if code != 201 {
		t.Fatalf("add account: %d %s", code, out)
	}
	var res struct{ ID int64 }
	json.Unmarshal([]byte(out), &res)
	return res.ID
}

const chatBody = `{"model":"gemini-2.5-pro","stream":%v,"messages":[{"role":"user","content":%q}]}`

// TestSecretsNeverAtRest runs a full session — accounts added and imported,
// chats, failover, an expired account, health checks, an export — and then
// looks for every cookie, csesidx and JWT in the log, every file of the
// data directory, the PostgreSQL dump and every HTTP answer: none may be
// there in plaintext.
func TestSecretsNeverAtRest(t *testing.T) {
	cases := []struct {
		name string
		vars func(t *testing.T) (map[string]string, string)
	}{
		{"sqlite and the OS keychain", func(t *testing.T) (map[string]string, string) {
			needKeychain(t)
			return map[string]string{}, ""
		}},
		{"postgres and sealed storage", func(t *testing.T) (map[string]string, string) {
			u, schema := pgtest.Schema(t)
			return map[string]string{"DATABASE_URL": u, "GATEWAY_SECRET_KEY": "correct horse battery staple 42"}, schema
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			vars, schema := tc.vars(t)
			fake := fakeupstream.Start(fakeupstream.Options{SplitWrites: true, CookieStaleAfter: time.Hour})
			defer fake.Close()
			demo := []fakeupstream.Account{fakeupstream.DemoAccount(11), fakeupstream.DemoAccount(12), fakeupstream.DemoAccount(13)}
			for _, d := range demo {
				fake.AddAccount(d)
			}
			a := startApp(t, fake, vars)
			if a.Accounts.Default == "" {
				t.Fatalf("no secret store: %s", a.SecretWarning)
			}
			id1 := addAccount(t, a, "one", demo[0])
			id2 := addAccount(t, a, "two", demo[1])
			// The third arrives as a pasted cookie header + URL.
			paste := fmt.Sprintf("cookie: __Secure-C_SES=%s; __Host-C_OSES=%s\nhttps://business.gemini.google/home/cid/%s?csesidx=%s", demo[2].SecureCSES, demo[2].HostCOSES, demo[2].ConfigID, demo[2].CSESIDX)
			if code, out := a.call(t, "POST", "/api/admin/accounts/import", paste); code != 200 || !strings.Contains(out, `"imported":[{`) {
				t.Fatalf("import: %d %s", code, out)
			}
			for i := 0; i < 6; i++ {
				if code, out := a.call(t, "POST", "/v1/chat/completions", fmt.Sprintf(chatBody, i%2 == 0, "hello")); code != 200 {
					t.Fatalf("chat %d: %d %s", i, code, out)
				}
			}
			// Cookies rotated by the upstream: through the refresh endpoint
			// and on the request path.
			fake.MakeStale(demo[1].ConfigID)
			if code, out := a.call(t, "POST", fmt.Sprintf("/api/admin/accounts/%d/refresh", id2), ""); code != 200 || !strings.Contains(out, `"refreshed"`) {
				t.Fatalf("refresh: %d %s", code, out)
			}
			refreshed, _ := fake.Account(demo[1].CSESIDX)
			fake.MakeStale(demo[1].ConfigID)
			for i := 0; i < 3; i++ {
				a.call(t, "POST", "/v1/chat/completions", fmt.Sprintf(chatBody, true, "after the rotation"))
			}
			again, _ := fake.Account(demo[1].CSESIDX)
			if _, rot := fake.Lifecycle(demo[1].ConfigID); rot < 2 || again.SecureCSES == refreshed.SecureCSES {
				t.Fatalf("%d rotations: the request path did not refresh", rot)
			}

			fake.QueueScenario(demo[0].CSESIDX, "http-429")
			fake.QueueScenario(demo[1].CSESIDX, "http-429")
			a.call(t, "POST", "/v1/chat/completions", fmt.Sprintf(chatBody, false, "failover"))
			fake.UpdateAccount(demo[2].CSESIDX, func(x *fakeupstream.Account) { x.Expired = true })
			a.call(t, "POST", "/api/admin/health-check", "")
			a.call(t, "POST", fmt.Sprintf("/api/admin/accounts/%d/health-check", id1), "")
			a.call(t, "GET", "/api/admin/accounts", "")
			a.call(t, "GET", "/api/admin/health-status", "")
			a.call(t, "GET", "/api/admin/accounts/export", "")
			a.call(t, "PUT", fmt.Sprintf("/api/admin/accounts/%d", id1), `{"secure_c_ses":"CSE.rotated-cookie-0123456789"}`)

			secrets := []string{"CSE.rotated-cookie-0123456789", refreshed.SecureCSES, refreshed.HostCOSES, again.SecureCSES, again.HostCOSES}
			for _, d := range demo {
				secrets = append(secrets, d.SecureCSES, d.HostCOSES, d.CSESIDX)
			}
			jwts := 0
			for _, r := range fake.Requests() {
				if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
					secrets = append(secrets, tok)
					jwts++
				}
			}
			if jwts == 0 {
				t.Fatal("no JWTs seen: the session did not exercise the upstream")
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			a.Close(ctx) // flush and close the database before reading it
			cancel()

			scan := func(where, text string) {
				for _, s := range secrets {
					if strings.Contains(text, s) {
						t.Errorf("a secret (%d chars, starts %q) is in %s", len(s), s[:4], where)
					}
				}
			}
			scan("the log", a.log.String())
			scan("HTTP answers", a.bodies.String())
			files := 0
			filepath.WalkDir(a.Config().DataDir, func(p string, d fs.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					b, _ := os.ReadFile(p)
					scan(p, string(b))
					files++
				}
				return nil
			})
			if schema == "" && files == 0 {
				t.Error("no database files to scan")
			}
			if schema != "" {
				dump := pgDump(t, schema)
				if !strings.Contains(dump, "sealed_secrets") || !strings.Contains(dump, "CREATE TABLE") {
					t.Fatalf("pg_dump output looks wrong (%d bytes)", len(dump))
				}
				scan("the PostgreSQL dump", dump)
			}
			if len(a.log.String()) < 500 || !strings.Contains(a.log.String(), "health check") {
				t.Error("the log is suspiciously empty: scanning it proves nothing")
			}
		})
	}
}

func pgDump(t *testing.T, schema string) string {
	t.Helper()
	bin, err := exec.LookPath("pg_dump")
	if err != nil {
		matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_dump")
		if len(matches) == 0 {
			t.Fatal("pg_dump not found")
		}
		bin = matches[len(matches)-1]
	}
	out, err := exec.Command(bin, "--schema="+schema, "--data-only", "--inserts", pgtest.BaseURL(t)).CombinedOutput()
	if err != nil {
		t.Fatalf("pg_dump: %v: %s", err, out)
	}
	schemaOut, err := exec.Command(bin, "--schema="+schema, "--schema-only", pgtest.BaseURL(t)).CombinedOutput()
	if err != nil {
		t.Fatalf("pg_dump: %v: %s", err, schemaOut)
	}
	return string(schemaOut) + string(out)
}

// Two gateway processes on one PostgreSQL see each other's account changes
// within a second and count requests without losing or doubling any.
func TestSharedPoolOnPostgres(t *testing.T) {
	u, _ := pgtest.Schema(t)
	fake := fakeupstream.Start(fakeupstream.Options{})
	defer fake.Close()
	d1, d2 := fakeupstream.DemoAccount(21), fakeupstream.DemoAccount(22)
	fake.AddAccount(d1)
	fake.AddAccount(d2)
	vars := map[string]string{"DATABASE_URL": u, "GATEWAY_SECRET_KEY": "shared pool key for both instances"}
	a := startApp(t, fake, vars)
	b := startApp(t, fake, vars)
	b.key = a.key
	b.Server.SetConfig(withKey(b.Server.Config(), a.key))

	id1 := addAccount(t, a, "one", d1)
	id2 := addAccount(t, a, "two", d2)
	within := func(what string, cond func() bool) {
		t.Helper()
		start := time.Now()
		for !cond() {
			if time.Since(start) > time.Second {
				t.Fatalf("instance B did not see %s within a second", what)
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Logf("B saw %s after %v", what, time.Since(start).Round(time.Millisecond))
	}
	view := func(x *testApp, id int64) (found bool, enabled bool, cooling bool) {
		for _, v := range x.Pool.Snapshot() {
			if v.ID == id {
				return true, v.Enabled, v.CooldownRemaining > 0
			}
		}
		return false, false, false
	}
	within("the new accounts", func() bool { f1, _, _ := view(b, id1); f2, _, _ := view(b, id2); return f1 && f2 })
	// B reads the secrets A sealed: it can serve with them.
	if code, out := b.call(t, "POST", "/v1/chat/completions", fmt.Sprintf(chatBody, false, "from B")); code != 200 {
		t.Fatalf("B chat: %d %s", code, out)
	}
	a.call(t, "PUT", fmt.Sprintf("/api/admin/accounts/%d", id2), `{"is_active":false}`)
	within("the disabled account", func() bool { _, en, _ := view(b, id2); return !en })
	a.call(t, "PUT", fmt.Sprintf("/api/admin/accounts/%d", id2), `{"is_active":true}`)
	within("the re-enabled account", func() bool { _, en, _ := view(b, id2); return en })

	// A cooldown that A's traffic causes reaches B.
	fake.QueueScenario(d1.CSESIDX, "http-429")
	fake.QueueScenario(d2.CSESIDX, "http-429")
	a.call(t, "POST", "/v1/chat/completions", fmt.Sprintf(chatBody, false, "quota"))
	within("the cooldowns", func() bool { _, _, c1 := view(b, id1); _, _, c2 := view(b, id2); return c1 && c2 })
	ctx := context.Background()
	a.Store.SetCooldown(ctx, id1, time.Time{}, "")
	a.Store.SetCooldown(ctx, id2, time.Time{}, "")
	within("the cleared cooldowns", func() bool { _, _, c1 := view(b, id1); _, _, c2 := view(b, id2); return !c1 && !c2 })
	a.Pool.ReloadAll(ctx)

	var wg sync.WaitGroup
	const each = 20
	for _, x := range []*testApp{a, b} {
		for i := 0; i < each; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if code, out := x.call(t, "POST", "/v1/chat/completions", fmt.Sprintf(chatBody, true, "count me")); code != 200 {
					t.Errorf("chat: %d %s", code, out)
				}
			}()
		}
	}
	wg.Wait()
	// Every served request once: B's first chat, then these (the 429 one
	// was served by nobody).
	want := int64(1 + 2*each)
	waitUntil(t, 5*time.Second, "every request counted once", func() bool { return storedRequests(t, a, id1, id2) == want })
	time.Sleep(1500 * time.Millisecond) // a late double count would show now
	if got := storedRequests(t, a, id1, id2); got != want {
		t.Fatalf("stored request count %d, want %d", got, want)
	}

	// "Requests today" sums both instances: every chat request that
	// arrived (the 429 one too), each once. A re-read (every 30 s on its
	// own) brings the other instance's part.
	wantToday := want + 1
	today := time.Now().Format(time.DateOnly)
	waitUntil(t, 5*time.Second, "today's requests in the database", func() bool {
		n, err := a.Store.DayRequests(ctx, today)
		return err == nil && n == wantToday
	})
	for name, x := range map[string]*testApp{"A": a, "B": b} {
		x.Requests.Sync(ctx)
		if got := x.Requests.Today(); got != wantToday {
			t.Errorf("instance %s shows %d requests today, want %d", name, got, wantToday)
		}
	}
}

func withKey(c gateway.Config, key string) gateway.Config {
	c.APIKey = key
	return c
}

func storedRequests(t *testing.T, a *testApp, ids ...int64) int64 {
	t.Helper()
	var n int64
	for _, id := range ids {
		acct, err := a.Store.Get(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		n += acct.RequestCount
	}
	return n
}

func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A Python gateway's PostgreSQL pool moves into this gateway through the
// admin API: its accounts appear, their secrets go to the keystore (not
// the account table), and they serve.
func TestImportFromPythonGateway(t *testing.T) {
	pyURL, _ := pgtest.Schema(t)
	fake := fakeupstream.Start(fakeupstream.Options{})
	defer fake.Close()
	d1, d2 := fakeupstream.DemoAccount(61), fakeupstream.DemoAccount(62)
	fake.AddAccount(d1)
	fake.AddAccount(d2)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pyURL)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`CREATE TABLE gemini_accounts (id SERIAL PRIMARY KEY, name VARCHAR(100), secure_c_ses TEXT NOT NULL, host_c_oses TEXT,
			csesidx VARCHAR(50) NOT NULL, config_id VARCHAR(100) NOT NULL, is_active BOOLEAN DEFAULT TRUE, request_count INTEGER DEFAULT 0,
			last_used_at TIMESTAMP, disabled_reason TEXT, health_check_time TIMESTAMP, health_status VARCHAR(20),
			network_error_count INTEGER DEFAULT 0, last_network_error_time TIMESTAMP, created_at TIMESTAMP DEFAULT NOW())`,
		fmt.Sprintf(`INSERT INTO gemini_accounts (name, secure_c_ses, host_c_oses, csesidx, config_id, is_active) VALUES
			('py-main', '%s', '%s', '%s', '%s', TRUE), (NULL, '%s', NULL, '%s', '%s', FALSE)`,
			d1.SecureCSES, d1.HostCOSES, d1.CSESIDX, d1.ConfigID, d2.SecureCSES, d2.CSESIDX, d2.ConfigID),
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	conn.Close(ctx)

	a := startApp(t, fake, map[string]string{"GATEWAY_SECRET_KEY": "python migration key, long enough"})
	code, out := a.call(t, "POST", "/api/admin/accounts/import-python", `{"database_url":`+strconv.Quote(pyURL)+`,"dry_run":true}`)
	if code != 200 || !strings.Contains(out, `"found":2`) || !strings.Contains(out, `"imported":[]`) {
		t.Fatalf("dry run: %d %s", code, out)
	}
	code, out = a.call(t, "POST", "/api/admin/accounts/import-python", `{"database_url":`+strconv.Quote(pyURL)+`}`)
	var res struct {
		Imported []struct {
			ID   int64
			Name string
		}
		Problems []struct{ Message string }
	}
	json.Unmarshal([]byte(out), &res)
	if code != 200 || len(res.Imported) != 2 || len(res.Problems) != 0 {
		t.Fatalf("import: %d %s", code, out)
	}
	list, _ := a.Store.List(ctx)
	names := map[string]bool{}
	for _, acct := range list {
		names[acct.Name] = acct.Enabled
		if acct.SecretBackend != "sealed" {
			t.Errorf("%s: secrets in %q", acct.Name, acct.SecretBackend)
		}
	}
	if en, ok := names["py-main"]; !ok || !en {
		t.Errorf("py-main: %v %v", ok, en)
	}
	if en, ok := names["python-2"]; !ok || en {
		t.Errorf("python-2 (inactive in the Python pool): %v %v", ok, en)
	}
	if code, out := a.call(t, "POST", "/v1/chat/completions", fmt.Sprintf(chatBody, false, "migrated")); code != 200 {
		t.Fatalf("chat with a migrated account: %d %s", code, out)
	}
	if code, _ := a.call(t, "POST", "/api/admin/accounts/import-python", `{"database_url":"postgres://nobody@127.0.0.1:1/none"}`); code != 400 {
		t.Errorf("unreachable database: %d", code)
	}
}
