package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/gemgate/gemini-gateway/gateway/accounts"
	"github.com/gemgate/gemini-gateway/gateway/upstream/fakeupstream"
)

func decodeBody(t *testing.T, r io.Reader, v any) string {
	t.Helper()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("%v: %s", err, b)
		}
	}
	return string(b)
}

type accountJSON struct {
	ID       int64  `json:"id"`
	Name     string `json:"name"`
	ConfigID string `json:"config_id"`
	IsActive bool   `json:"is_active"`
	ReadOnly bool   `json:"read_only"`
	State    string `json:"state"`
	Secrets  map[string]struct {
		Set         bool   `json:"set"`
		Fingerprint string `json:"fingerprint"`
	} `json:"secrets"`
}

func TestAdminAccountsCRUD(t *testing.T) {
	h := newHarness(t, harnessOpts{key: "sk-admin", accounts: 1})
	demo := fakeupstream.DemoAccount(2)
	h.fake.AddAccount(demo)
	body := fmt.Sprintf(`{"name":"work","secure_c_ses":%q,"host_c_oses":%q,"csesidx":%q,"config_id":%q,"is_active":true}`,
		demo.SecureCSES, demo.HostCOSES, demo.CSESIDX, demo.ConfigID)
	resp := h.do("POST", "/api/admin/accounts", body, nil)
	var created accountJSON
	raw := decodeBody(t, resp.Body, &created)
	if resp.StatusCode != 201 || created.Name != "work" || !created.IsActive || created.ID == 0 {
		t.Fatalf("%d %s", resp.StatusCode, raw)
	}
	for _, secret := range []string{demo.SecureCSES, demo.HostCOSES, demo.CSESIDX} {
		if strings.Contains(raw, secret) {
			t.Fatalf("response contains a secret: %s", raw)
		}
	}
	if s := created.Secrets["secure_c_ses"]; !s.Set || s.Fingerprint != "…"+demo.SecureCSES[len(demo.SecureCSES)-4:] {
		t.Errorf("secret hint = %+v", s)
	}
	// It serves right away.
	resp = h.do("POST", "/v1/chat/completions", `{"model":"gemini-auto","messages":[{"role":"user","content":"x"}]}`, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("chat after create: %d", resp.StatusCode)
	}

	// Rename and disable.
	resp = h.do("PUT", fmt.Sprintf("/api/admin/accounts/%d", created.ID), `{"name":"work-2","is_active":false}`, nil)
	var updated accountJSON
	decodeBody(t, resp.Body, &updated)
	if resp.StatusCode != 200 || updated.Name != "work-2" || updated.IsActive || updated.State != "disabled" {
		t.Fatalf("update: %d %+v", resp.StatusCode, updated)
	}
	// New cookies replace the secrets (new ref, old one deleted).
	before := h.secrets.Refs()
	resp = h.do("PUT", fmt.Sprintf("/api/admin/accounts/%d", created.ID), `{"secure_c_ses":"CSE.renewed-cookie-value","is_active":true}`, nil)
	decodeBody(t, resp.Body, &updated)
	if resp.StatusCode != 200 || updated.Secrets["secure_c_ses"].Fingerprint != "…alue" || !updated.IsActive || updated.State != "unchecked" {
		t.Fatalf("secret update: %d %+v", resp.StatusCode, updated)
	}
	after := h.secrets.Refs()
	if len(after) != len(before) || strings.Join(after, ",") == strings.Join(before, ",") {
		t.Errorf("secret refs before %v after %v", before, after)
	}

	resp = h.do("GET", "/api/admin/accounts", "", nil)
	var list struct {
		Accounts []accountJSON
		Total    int
	}
	raw = decodeBody(t, resp.Body, &list)
	if list.Total != 2 || strings.Contains(raw, "CSE.renewed-cookie-value") || strings.Contains(raw, h.accts[0].SecureCSES) {
		t.Fatalf("list: %s", raw)
	}

	resp = h.do("DELETE", fmt.Sprintf("/api/admin/accounts/%d", created.ID), "", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("delete: %d", resp.StatusCode)
	}
	if len(h.secrets.Refs()) != 1 {
		t.Errorf("secrets left after delete: %v", h.secrets.Refs())
	}
	resp = h.do("DELETE", fmt.Sprintf("/api/admin/accounts/%d", created.ID), "", nil)
	if resp.StatusCode != 404 {
		t.Errorf("second delete: %d", resp.StatusCode)
	}
	if len(h.pool.Snapshot()) != 1 {
		t.Error("deleted account still in the pool")
	}
	resp = h.do("GET", "/api/admin/accounts", "", map[string]string{"Authorization": "Bearer nope"})
	if resp.StatusCode != 401 {
		t.Errorf("admin API without the key: %d", resp.StatusCode)
	}
}

func TestAdminValidation(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	good := map[string]string{"name": "x", "secure_c_ses": "CSE.abcdefgh", "csesidx": "123456789", "config_id": "5f2b8c1e-93a4-4d7f-b2e6-0c9a1d3e7f48"}
	tests := []struct {
		name, field, value, param string
	}{
		{"empty cookie", "secure_c_ses", "", "secure_c_ses"},
		{"cookie with spaces", "secure_c_ses", "CSE.a b", "secure_c_ses"},
		{"non-numeric csesidx", "csesidx", "12ab", "csesidx"},
		{"config_id not a UUID", "config_id", "not-a-uuid", "config_id"},
		{"duplicate name", "name", "acct-1", "name"},
		{"duplicate credentials", "csesidx", h.accts[0].CSESIDX, "csesidx"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := map[string]string{}
			for k, v := range good {
				in[k] = v
			}
			in[tc.field] = tc.value
			if tc.name == "duplicate credentials" {
				in["config_id"] = h.accts[0].ConfigID
			}
			b, _ := json.Marshal(in)
			resp := h.do("POST", "/api/admin/accounts", string(b), nil)
			var e struct {
				Error struct{ Message, Param, Code string }
			}
			decodeBody(t, resp.Body, &e)
			if resp.StatusCode != 400 || e.Error.Param != tc.param || !strings.Contains(e.Error.Message, tc.param) {
				t.Fatalf("%d %+v", resp.StatusCode, e.Error)
			}
		})
	}
	resp := h.do("POST", "/api/admin/accounts", `{"name":"x","secure_cses":"typo"}`, nil)
	if resp.StatusCode != 400 {
		t.Errorf("unknown field accepted: %d", resp.StatusCode)
	}
}

func TestAdminImportFormats(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	a2, a3, a4, a5 := fakeupstream.DemoAccount(2), fakeupstream.DemoAccount(3), fakeupstream.DemoAccount(4), fakeupstream.DemoAccount(5)
	for _, a := range []fakeupstream.Account{a2, a3, a4, a5} {
		h.fake.AddAccount(a)
	}
	samples := []struct {
		format, text string
		name         string
	}{
		{"json", fmt.Sprintf(`[{"name":"json-acct","secure_c_ses":%q,"host_c_oses":%q,"csesidx":%q,"config_id":%q,"is_active":true}]`, a2.SecureCSES, a2.HostCOSES, a2.CSESIDX, a2.ConfigID), "json-acct"},
		{"env", fmt.Sprintf("# env-acct\nSECURE_C_SES=%s\nHOST_C_OSES=%s\nCSESIDX=%s\nCONFIG_ID=%s\n", a3.SecureCSES, a3.HostCOSES, a3.CSESIDX, a3.ConfigID), ""},
		{"cookie", fmt.Sprintf("Cookie: NID=1; __Secure-C_SES=%s; __Host-C_OSES=%s\nhttps://business.gemini.google/home/cid/%s?csesidx=%s", a4.SecureCSES, a4.HostCOSES, a4.ConfigID, a4.CSESIDX), ""},
		{"curl", fmt.Sprintf("curl 'https://business.gemini.google/auth/getoxsrf?csesidx=%s' \\\n  -H 'referer: https://business.gemini.google/home/cid/%s?csesidx=%s' \\\n  -b '__Secure-C_SES=%s; __Host-C_OSES=%s'", a5.CSESIDX, a5.ConfigID, a5.CSESIDX, a5.SecureCSES, a5.HostCOSES), ""},
	}
	for _, s := range samples {
		t.Run(s.format, func(t *testing.T) {
			// Preview first: nothing is added.
			before := len(h.pool.Snapshot())
			resp := h.do("POST", "/api/admin/accounts/import?dry_run=1", s.text, map[string]string{"Content-Type": "text/plain"})
			var res struct {
				DryRun   bool   `json:"dry_run"`
				Format   string `json:"format"`
				Found    int
				Imported []struct{ ID int64 }
				Preview  []struct{ Name, ConfigID string }
				Problems []struct{ Message string }
			}
			raw := decodeBody(t, resp.Body, &res)
			if !res.DryRun || res.Format != s.format || res.Found != 1 || len(res.Preview) != 1 || len(res.Imported) != 0 || len(h.pool.Snapshot()) != before {
				t.Fatalf("preview: %s", raw)
			}
			resp = h.do("POST", "/api/admin/accounts/import", `{"text":`+jsonString(s.text)+`}`, nil)
			raw = decodeBody(t, resp.Body, &res)
			if len(res.Imported) != 1 || len(res.Problems) != 0 {
				t.Fatalf("import: %s", raw)
			}
			if len(h.pool.Snapshot()) != before+1 {
				t.Fatal("imported account not in the pool")
			}
		})
	}
	// All four imported accounts work.
	sum := h.checker.CheckAll(context.Background(), nil)
	if sum.Healthy != 5 {
		t.Errorf("health after import: %+v", sum)
	}
	// A paste with nothing usable reports why, without the values.
	resp := h.do("POST", "/api/admin/accounts/import", "__Secure-C_SES=CSE.only-a-cookie-no-url", nil)
	var res struct {
		Problems []struct{ Message string }
	}
	raw := decodeBody(t, resp.Body, &res)
	if len(res.Problems) == 0 || strings.Contains(raw, "only-a-cookie") {
		t.Errorf("bad paste: %s", raw)
	}
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestAdminExport(t *testing.T) {
	h := newHarness(t, harnessOpts{accounts: 2})
	resp := h.do("GET", "/api/admin/accounts/export", "", nil)
	raw := decodeBody(t, resp.Body, nil)
	for _, a := range h.accts {
		if strings.Contains(raw, a.SecureCSES) || strings.Contains(raw, a.CSESIDX) {
			t.Fatalf("export without include_secrets has secrets: %s", raw)
		}
	}
	// Secrets need the explicit confirmation too.
	resp = h.do("GET", "/api/admin/accounts/export?include_secrets=true", "", nil)
	raw = decodeBody(t, resp.Body, nil)
	if resp.StatusCode != 400 || strings.Contains(raw, h.accts[0].SecureCSES) || !strings.Contains(raw, "confirm=yes") {
		t.Fatalf("export with secrets, unconfirmed: %d %s", resp.StatusCode, raw)
	}
	resp = h.do("GET", "/api/admin/accounts/export?include_secrets=true&confirm=yes", "", nil)
	var list []accounts.Input
	decodeBody(t, resp.Body, &list)
	if len(list) != 2 || list[0].SecureCSES != h.accts[0].SecureCSES || list[1].CSESIDX != h.accts[1].CSESIDX {
		t.Fatalf("export: %+v", list)
	}
	// The export imports back (into another gateway) as is.
	h2 := newHarness(t, harnessOpts{accounts: 0})
	b, _ := json.Marshal(list)
	h2.do("POST", "/api/admin/accounts/import", string(b), nil)
	names := map[string]bool{}
	for _, v := range h2.pool.Snapshot() {
		names[v.Name] = true
	}
	if !names["acct-1"] || !names["acct-2"] {
		t.Errorf("round trip: %v", names)
	}
	// The export is logged, without a secret.
	logs := h.logs.String()
	if !strings.Contains(logs, "accounts exported with secrets") {
		t.Errorf("export not logged:\n%s", logs)
	}
	for _, a := range h.accts {
		if strings.Contains(logs, a.SecureCSES) || strings.Contains(logs, a.CSESIDX) {
			t.Fatal("the export's log line carries a secret")
		}
	}
}

func TestEnvAccountIsReadOnly(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.mgr.Env = &accounts.EnvAccount{
		Account: accounts.Account{ID: accounts.EnvAccountID, Name: "environment", Enabled: true, ReadOnly: true, SecretBackend: accounts.BackendEnv},
	}
	h.pool.ReloadAll(context.Background())
	resp := h.do("GET", "/api/admin/accounts", "", nil)
	var list struct{ Accounts []accountJSON }
	decodeBody(t, resp.Body, &list)
	if len(list.Accounts) != 2 || !list.Accounts[0].ReadOnly || list.Accounts[0].Name != "environment" {
		t.Fatalf("list: %+v", list.Accounts)
	}
	for _, req := range []struct{ method, body string }{{"PUT", `{"name":"x"}`}, {"DELETE", ""}} {
		resp := h.do(req.method, "/api/admin/accounts/0", req.body, nil)
		if resp.StatusCode != 409 {
			t.Errorf("%s env account: %d", req.method, resp.StatusCode)
		}
	}
}

func TestAdminWithoutSecretStore(t *testing.T) {
	h := newHarness(t, harnessOpts{accounts: 1})
	h.mgr.Default = ""
	resp := h.do("POST", "/api/admin/accounts", `{"secure_c_ses":"CSE.abcdefgh","csesidx":"123456789","config_id":"5f2b8c1e-93a4-4d7f-b2e6-0c9a1d3e7f48"}`, nil)
	var e struct {
		Error struct{ Message, Code string }
	}
	decodeBody(t, resp.Body, &e)
	if resp.StatusCode != 503 || e.Error.Code != "no_secret_store" || !strings.Contains(e.Error.Message, "GATEWAY_SECRET_KEY") {
		t.Fatalf("%d %+v", resp.StatusCode, e.Error)
	}
	// Existing accounts still serve.
	if resp := h.do("POST", "/v1/chat/completions", `{"model":"gemini-auto","messages":[{"role":"user","content":"x"}]}`, nil); resp.StatusCode != 200 {
		t.Errorf("chat: %d", resp.StatusCode)
	}
}
