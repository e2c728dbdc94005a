package keystore

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/gemgate/gemini-gateway/gateway/accounts"
)

// TestFormatHidesSecrets prints every type of this package that can hold
// or reach secrets, with every verb, and looks for the secrets.
func TestFormatHidesSecrets(t *testing.T) {
	ctx := context.Background()
	sec := accounts.Secrets{SecureCSES: cookie(64), HostCOSES: cookie(64), CSESIDX: "98765432101234"}

	fake := newFakeKeychain()
	kr := newTestKeyring(t, fake)
	_ = kr.Set(ctx, "k", sec)
	blobs := withKDF(1000)
	sealed := openSealed(t, testKey, blobs)
	_ = sealed.Set(ctx, "s", sec)

	values := []struct {
		name string
		v    any
	}{
		{"*Keyring", kr}, {"Keyring", *kr},
		{"*Sealed", sealed}, {"Sealed", *sealed},
		{"struct holding them", struct {
			K *Keyring
			S *Sealed
		}{kr, sealed}},
	}
	verbs := []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T"}
	for _, tt := range values {
		t.Run(tt.name, func(t *testing.T) {
			for _, verb := range verbs {
				out := fmt.Sprintf(verb, tt.v)
				for _, secret := range []string{sec.SecureCSES[:12], sec.HostCOSES[:12], sec.CSESIDX, testKey} {
					if strings.Contains(out, secret) || strings.Contains(out, fmt.Sprintf("%x", secret)) {
						t.Fatalf("%s of %s shows a secret: %s", verb, tt.name, out)
					}
				}
			}
		})
	}
}
