//go:build windows

package keystore

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/danieljoos/wincred"

	"github.com/gemgate/gemini-gateway/gateway/accounts"
)

// Credential Manager refuses blobs over 2560 bytes on real Windows, but
// Wine accepts larger ones, so a round trip alone proves nothing about the
// chunking there: this reads the stored entries back, as Windows holds
// them, and checks every one fits.
func TestCredentialManagerEntriesFitTheWindowsLimit(t *testing.T) {
	service := "io.github.gemgate.geminigateway.test-" + randomHex(6)
	k, err := NewKeyring(service, WithTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	t.Cleanup(func() { deleteAllWithin(t, service, 10*time.Second) })
	const ref = "windows-ref"
	big := accounts.Secrets{SecureCSES: cookie(7000), HostCOSES: cookie(1500), CSESIDX: "1234567890"}
	if err := k.Set(ctx, ref, big); err != nil {
		t.Fatal(err)
	}
	creds, err := wincred.FilteredList(service + ":*")
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	names := map[string]bool{}
	for _, c := range creds {
		g, err := wincred.GetGenericCredential(c.TargetName)
		if err != nil {
			t.Fatalf("%s: %v", c.TargetName, err)
		}
		if n := len(g.CredentialBlob); n > 2560 || n == 0 {
			t.Errorf("%s holds %d bytes; Windows allows 1 to 2560", c.TargetName, n)
		}
		total += len(g.CredentialBlob)
		names[strings.TrimPrefix(c.TargetName, service+":")] = true
	}
	// A header and five parts of at most DefaultChunkSize bytes.
	if len(creds) != 6 || !names[headUser(ref)] || !names[partUser(ref, 5)] {
		t.Fatalf("entries %v, want the header and 5 parts", names)
	}
	if total < 8500 {
		t.Fatalf("entries hold %d bytes in all, less than the secrets", total)
	}
	got, err := k.Get(ctx, ref)
	if err != nil || got != big {
		t.Fatalf("read back: %v (equal: %v)", err, got == big)
	}
}
