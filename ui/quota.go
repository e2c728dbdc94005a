package ui

import (
	"strconv"
	"strings"
	"time"
)

// Quota is one kind of turn's quota of an account: text, image or video.
type Quota struct {
	Kind      string    // "text", "image", "video"
	Used      int       // turns served today
	Limit     int       // daily limit; 0 = none
	CoolUntil time.Time // zero: not cooling
}

// quotaSummary is the Health panel's quota cell: "3 · 1/2 · 0/1", with a
// kind that cools down shown as its countdown ("image 3:59:00").
func quotaSummary(qs []Quota, now time.Time) string {
	parts := make([]string, 0, len(qs))
	for _, q := range qs {
		var b strings.Builder
		switch {
		case q.CoolUntil.After(now):
			b.WriteString(q.Kind + " " + countdown(q.CoolUntil.Sub(now)))
		case q.Limit > 0:
			b.WriteString(strconv.Itoa(q.Used) + "/" + strconv.Itoa(q.Limit))
			if q.Used >= q.Limit {
				b.WriteString(" used up")
			}
		default:
			b.WriteString(strconv.Itoa(q.Used))
		}
		parts = append(parts, b.String())
	}
	return strings.Join(parts, " · ")
}
