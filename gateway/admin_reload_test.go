package gateway_test

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/gemgate/gemini-gateway/gateway/accounts"
	"github.com/gemgate/gemini-gateway/gateway/pool"
	"github.com/gemgate/gemini-gateway/gateway/upstream/fakeupstream"
)

// countingSource counts the pool's reads of accounts: Get is one
// account's reload, List a reload of all.
type countingSource struct {
	pool.Source
	gets, lists atomic.Int32
}

func (c *countingSource) Get(ctx context.Context, id int64) (accounts.Account, error) {
	c.gets.Add(1)
	return c.Source.Get(ctx, id)
}

func (c *countingSource) List(ctx context.Context) ([]accounts.Account, error) {
	c.lists.Add(1)
	return c.Source.List(ctx)
}

// Every admin write reloads the changed account in the pool once (the
// Manager's OnChange), not again in the handler, and never the whole pool.
func TestAdminWriteReloadsPoolOnce(t *testing.T) {
	var src *countingSource
	h := newHarness(t, harnessOpts{key: "sk-admin", accounts: 1, source: func(h *harness) pool.Source {
		src = &countingSource{Source: h.mgr}
		return src
	}})
	src.gets.Store(0)
	src.lists.Store(0)
	check := func(what string, wantGets int32) {
		t.Helper()
		if g, l := src.gets.Swap(0), src.lists.Swap(0); g != wantGets || l != 0 {
			t.Errorf("%s: %d account reloads and %d whole-pool reloads, want %d and 0", what, g, l, wantGets)
		}
	}
	demo := fakeupstream.DemoAccount(2)
	resp := h.do("POST", "/api/admin/accounts", fmt.Sprintf(`{"name":"work","secure_c_ses":%q,"host_c_oses":%q,"csesidx":%q,"config_id":%q}`,
		demo.SecureCSES, demo.HostCOSES, demo.CSESIDX, demo.ConfigID), nil)
	var created accountJSON
	decodeBody(t, resp.Body, &created)
	if resp.StatusCode != 201 || created.Name != "work" {
		t.Fatalf("create: %d %+v", resp.StatusCode, created)
	}
	check("create", 1)
	resp = h.do("PUT", fmt.Sprintf("/api/admin/accounts/%d", created.ID), `{"name":"work-2"}`, nil)
	var updated accountJSON
	decodeBody(t, resp.Body, &updated)
	if resp.StatusCode != 200 || updated.Name != "work-2" {
		t.Fatalf("update: %d %+v", resp.StatusCode, updated)
	}
	check("update", 1)
	resp = h.do("POST", "/api/admin/accounts/import", fmt.Sprintf(`[{"name":"i1","secure_c_ses":"CSE.a1","host_c_oses":"COS.a1","csesidx":"111","config_id":%q},{"name":"i2","secure_c_ses":"CSE.a2","host_c_oses":"COS.a2","csesidx":"222","config_id":%q}]`,
		demo.ConfigID, demo.ConfigID), nil)
	var imported struct {
		Imported []struct{ ID int64 } `json:"imported"`
	}
	raw := decodeBody(t, resp.Body, &imported)
	if resp.StatusCode != 200 || len(imported.Imported) != 2 {
		t.Fatalf("import: %d %s", resp.StatusCode, raw)
	}
	check("import of two", 2)
	resp = h.do("DELETE", fmt.Sprintf("/api/admin/accounts/%d", created.ID), "", nil)
	decodeBody(t, resp.Body, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("delete: %d", resp.StatusCode)
	}
	check("delete", 1)
}

// The account list and health status show the same state fields of an
// account (AccountStatusJSON), each with its own extra fields.
func TestAdminAccountAndHealthStatusFields(t *testing.T) {
	h := newHarness(t, harnessOpts{key: "sk-admin", accounts: 1})
	keysOf := func(path string) []string {
		t.Helper()
		resp := h.do("GET", path, "", nil)
		var body struct {
			Accounts []map[string]any `json:"accounts"`
		}
		raw := decodeBody(t, resp.Body, &body)
		if resp.StatusCode != 200 || len(body.Accounts) != 1 {
			t.Fatalf("%s: %d %s", path, resp.StatusCode, raw)
		}
		var keys []string
		for k := range body.Accounts[0] {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		return keys
	}
	state := []string{"cooldown_remaining_seconds", "expires_at", "health_status", "id", "is_active", "last_check", "last_refresh_at",
		"last_sign_in_at", "name", "network_error_count", "quotas", "state"}
	// reason, disabled_reason, cooldown_*, created_at… are omitted when empty.
	account := slices.Sorted(slices.Values(append(slices.Clone(state), "config_id", "created_at", "in_flight", "last_used_at",
		"read_only", "request_count", "secret_backend", "secrets", "updated_at")))
	health := slices.Sorted(slices.Values(append(slices.Clone(state), "usable")))
	if got := keysOf("/api/admin/accounts"); !reflect.DeepEqual(got, account) {
		t.Errorf("account fields:\n got %v\nwant %v", got, account)
	}
	if got := keysOf("/api/admin/health-status"); !reflect.DeepEqual(got, health) {
		t.Errorf("health-status fields:\n got %v\nwant %v", got, health)
	}
}
