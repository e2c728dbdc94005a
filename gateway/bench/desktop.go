package bench

import (
	"fmt"
	"io"
	"slices"
)

// DesktopReport is what `gwbench -desktop` measures (bench/desktop.json):
// start-up and idle cost of the headless and the desktop binary.
type DesktopReport struct {
	Date    string            `json:"date"`
	Machine map[string]string `json:"machine"`
	// Headless and GUI are exec → first 200 from /healthz, one per start.
	// For the desktop binary that is the gateway inside it answering while
	// the window is being shown; the window itself is not timed.
	Headless StartTimes `json:"headless_start"`
	GUI      StartTimes `json:"gui_start"`
	// IdleS is the window over which each binary, left alone after
	// start-up (the GUI with its window hidden), is measured.
	IdleS        float64  `json:"idle_window_s"`
	IdleHeadless *IdleUse `json:"idle_headless,omitempty"`
	IdleGUI      *IdleUse `json:"idle_gui,omitempty"`
	// GUINote says why the desktop binary was not measured.
	GUINote string          `json:"gui_note,omitempty"`
	Targets []DesktopTarget `json:"targets"`
}

// DesktopTarget is one desktop goal (bench/README.md) and whether the run
// met it. Value -1 means it could not be measured (JSON has no NaN); such
// a target fails.
type DesktopTarget struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	Limit string  `json:"limit"`
	Pass  bool    `json:"pass"`
}

// StartTimes are exec → /healthz times of one binary.
type StartTimes struct {
	Ms       []float64 `json:"ms"`
	MedianMs float64   `json:"median_ms"`
	MaxMs    float64   `json:"max_ms"`
}

// IdleUse is what an idle process cost over the window.
type IdleUse struct {
	CPUPercent float64 `json:"cpu_percent"` // of one core
	RSSMB      float64 `json:"rss_mb"`
	// WakeupsPerS are context switches of all its threads per second: a
	// busy-polling loop shows as hundreds or thousands.
	WakeupsPerS float64 `json:"wakeups_per_s"`
	Threads     int     `json:"threads"`
}

// Add records one start.
func (t *StartTimes) Add(ms float64) {
	t.Ms = append(t.Ms, ms)
	xs := slices.Sorted(slices.Values(t.Ms))
	t.MedianMs = median(xs)
	t.MaxMs = xs[len(xs)-1]
}

// median of sorted xs (the mean of the middle two for an even count).
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	m := xs[len(xs)/2]
	if len(xs)%2 == 0 {
		m = (xs[len(xs)/2-1] + xs[len(xs)/2]) / 2
	}
	return m
}

// Judge sets the targets from the figures. A GUI figure that could not be
// measured is a failed target with value -1: it must not vanish.
func (r *DesktopReport) Judge() {
	r.Targets = nil
	add := func(name string, v float64, limit string, pass bool) {
		r.Targets = append(r.Targets, DesktopTarget{name, v, limit, pass})
	}
	if len(r.Headless.Ms) > 0 {
		add("headless exec → /healthz, median (ms)", r.Headless.MedianMs, "≤ 300", r.Headless.MedianMs <= 300)
	} else {
		add("headless exec → /healthz, median (ms): not measured", -1, "≤ 300", false)
	}
	if len(r.GUI.Ms) == 0 {
		add("desktop binary exec → its gateway's /healthz: not measured", -1, "measured", false)
	}
	if u := r.IdleGUI; u != nil {
		add("GUI idle CPU, window hidden (% of a core)", u.CPUPercent, "≤ 1", u.CPUPercent <= 1)
		add("GUI idle wake-ups per second, all threads (busy polling: hundreds)", u.WakeupsPerS, "< 100", u.WakeupsPerS < 100)
	} else {
		add("GUI idle CPU, window hidden (% of a core): not measured", -1, "≤ 1", false)
		add("GUI idle wake-ups per second: not measured", -1, "< 100", false)
	}
}

// Failed counts the targets not met.
func (r *DesktopReport) Failed() int {
	return failed(r.Targets, func(t DesktopTarget) bool { return t.Pass })
}

// failed counts the targets pass says were not met.
func failed[T any](targets []T, pass func(T) bool) int {
	n := 0
	for _, t := range targets {
		if !pass(t) {
			n++
		}
	}
	return n
}

// Print writes the human-readable figures (bench/desktop.txt).
func (r *DesktopReport) Print(w io.Writer) {
	fmt.Fprintf(w, "gemini-gateway desktop figures, %s, %s cores (%s), %s\n\n", r.Date, r.Machine["cores"], r.Machine["cpu"], r.Machine["go"])
	fmt.Fprintf(w, "headless binary, exec → /healthz: median %.1f ms, max %.1f ms (%d starts)\n", r.Headless.MedianMs, r.Headless.MaxMs, len(r.Headless.Ms))
	if len(r.GUI.Ms) > 0 {
		fmt.Fprintf(w, "desktop binary, exec → its gateway's /healthz: median %.1f ms, max %.1f ms (%d starts; the window, being shown meanwhile, is not timed)\n",
			r.GUI.MedianMs, r.GUI.MaxMs, len(r.GUI.Ms))
	} else {
		fmt.Fprintln(w, "desktop binary, exec → its gateway's /healthz: not measured: FAIL")
	}
	for _, x := range []struct {
		name string
		u    *IdleUse
	}{{"headless", r.IdleHeadless}, {"GUI (window hidden)", r.IdleGUI}} {
		if x.u == nil {
			fmt.Fprintf(w, "idle %-20s not measured\n", x.name)
			continue
		}
		fmt.Fprintf(w, "idle %-20s over %.0f s: CPU %.3f %% of a core, RSS %.1f MB, %.1f wake-ups/s (context switches, all threads), %d threads\n",
			x.name, r.IdleS, x.u.CPUPercent, x.u.RSSMB, x.u.WakeupsPerS, x.u.Threads)
	}
	if r.GUINote != "" {
		fmt.Fprintln(w, "GUI:", r.GUINote)
	}
	fmt.Fprintln(w)
	for _, t := range r.Targets {
		fmt.Fprintf(w, "%-66s %10s  %-8s %s\n", t.Name, value(t.Value), t.Limit, passFail(t.Pass))
	}
}

// value formats a target's value; -1 is "not measured".
func value(v float64) string {
	if v == -1 {
		return "-"
	}
	return fmt.Sprintf("%.2f", v)
}

func passFail(ok bool) string {
	if ok {
		return "PASS"
	}
	return "FAIL"
}
