package pool

import (
	"errors"

	"github.com/gemgate/gemini-gateway/gateway/upstream"
)

// accountTrouble records the failures that are the account's and not the
// client's, which the general failure bookkeeping does not know yet: a
// stream of session tokens without an answer (KindAuthTrouble) counts
// toward the account's error threshold, like a network error, so a
// half-signed-in account ends up unhealthy instead of being retried on
// every request; a 400 on session creation (KindAccountState) only
// moves the request elsewhere. It reports whether it handled err.
func (p *Pool) accountTrouble(id int64, err error) bool {
	var ue *upstream.Error
	if !errors.As(err, &ue) {
		return false
	}
	switch ue.Kind {
	case upstream.KindAuthTrouble:
		p.log.Warn("account answered with session tokens only", "account", p.name(id))
		p.networkError(id, "auth trouble: "+ue.Message)
		p.publish(accountEvent(id))
		return true
	case upstream.KindAccountState:
		p.log.Info("account refused a new session", "account", p.name(id), "reason", ue.Message)
		return true
	}
	return false
}
