package fakeupstream

import (
	"crypto/sha256"
	"encoding/base64"
	"strconv"
)

// DemoAccount returns the n-th deterministic demo account (n from 1): the
// same credentials on every run, so that a gateway configured once against
// the fake-upstream command keeps working after a restart. Account 1 has
// the CSESIDX of the spec's examples, 2026259595. Quota is unlimited.
func DemoAccount(n int) Account {
	ns := strconv.Itoa(n)
	h := sha256.Sum256([]byte("fakeupstream demo account " + ns))
	cfg := sha256.Sum256([]byte("fakeupstream demo config " + ns))
	return Account{
		SecureCSES: "CSE.fake-" + ns + "." + base64.RawURLEncoding.EncodeToString(h[:24]),
		HostCOSES:  "COS.fake-" + ns + "." + base64.RawURLEncoding.EncodeToString(h[8:32]),
		CSESIDX:    strconv.Itoa(2026259594 + n),
		ConfigID:   formatUUID(cfg[:16]),
		QuotaLeft:  -1,
	}
}
