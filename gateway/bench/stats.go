package bench

import (
	"math"
	"slices"
	"time"
)

// Percentile returns the p-th percentile (0-100) of xs by the
// nearest-rank method: the smallest value with at least p % of the values
// at or below it. It sorts xs in place; it returns 0 for no values.
func Percentile(xs []time.Duration, p float64) time.Duration {
	if len(xs) == 0 {
		return 0
	}
	if !slices.IsSorted(xs) {
		slices.Sort(xs)
	}
	rank := int(math.Ceil(p / 100 * float64(len(xs))))
	return xs[min(max(rank, 1), len(xs))-1]
}

// Ms converts a duration to milliseconds for reports.
func Ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// ratio is a/b, or 0 when either is unknown.
func ratio(a, b float64) float64 {
	if a <= 0 || b <= 0 {
		return 0
	}
	return a / b
}
