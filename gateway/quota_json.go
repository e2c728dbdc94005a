package gateway

import (
	"time"

	"github.com/gemgate/gemini-gateway/gateway/pool"
)

// QuotaJSON is one kind's quota of an account (text, image, video): how
// many turns of that kind it served today, its daily limit (0 = none), and
// how long the kind still cools down.
type QuotaJSON struct {
	Kind              string  `json:"kind"`
	UsedToday         int     `json:"used_today"`
	DailyLimit        int     `json:"daily_limit"`
	Available         bool    `json:"available"`
	CooldownRemaining float64 `json:"cooldown_remaining_seconds"`
	Reason            string  `json:"reason,omitempty"`
}

func quotasJSON(qs []pool.KindQuota) []QuotaJSON {
	out := make([]QuotaJSON, len(qs))
	for i, q := range qs {
		out[i] = QuotaJSON{Kind: q.Kind.String(), UsedToday: q.Used, DailyLimit: q.Limit, Available: q.Available(),
			CooldownRemaining: q.CooldownRemaining.Round(time.Second).Seconds(), Reason: q.Reason}
	}
	return out
}
