package bench

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// Mode is what one client load measured.
type Mode struct {
	Summary
	// CPUPer1k is the CPU seconds per 1,000 deltas of the process doing the
	// relaying: this client for direct, the gateway process for gateway.
	CPUPer1k float64 `json:"cpu_s_per_1k_deltas"`
	// ClientCPUPer1k and FakeCPUPer1k are the other processes' shares.
	ClientCPUPer1k float64 `json:"client_cpu_s_per_1k_deltas"`
	FakeCPUPer1k   float64 `json:"fake_cpu_s_per_1k_deltas"`
	// PeakRSSMB is the gateway's peak resident memory during the load
	// (gateway mode only).
	PeakRSSMB float64 `json:"peak_rss_mb,omitempty"`
	// Per open stream, measured while all streams of a slow case were
	// open, against the idle process just before: live heap after a
	// forced GC, goroutine stacks, and (gateway only) RSS.
	OpenAtSample    int     `json:"open_at_sample,omitempty"`
	HeapPerStreamKB float64 `json:"heap_per_stream_kb,omitempty"`
	StackPerStrKB   float64 `json:"stack_per_stream_kb,omitempty"`
	RSSPerStreamKB  float64 `json:"rss_per_stream_kb,omitempty"`
	Goroutines      int     `json:"goroutines_at_sample,omitempty"`
	// With Case.TTFTFromPairs, TTFTP50/P99 come from the alternating run
	// and these keep the figures of this mode's own run.
	TTFTOwnRunP50 float64 `json:"ttft_own_run_p50_ms,omitempty"`
	TTFTOwnRunP99 float64 `json:"ttft_own_run_p99_ms,omitempty"`
	// Steady is the CPU over a short window in which every stream of a slow
	// case was open and none was being set up.
	Steady *Steady `json:"steady,omitempty"`
	// Control is the control group of direct streams run alongside the
	// gateway streams (slow case): the same moment, fake and client, so its
	// lateness is what the gateway's streams would have had without it.
	Control *Summary `json:"control,omitempty"`
	// PairErrors are the alternating run's errors (also counted in Errors).
	PairErrors int `json:"pair_errors,omitempty"`
}

// Steady is CPU use while a fixed set of streams is open and relaying.
type Steady struct {
	WindowS float64 `json:"window_s"`
	// Deltas relayed to the main streams inside the window.
	Deltas int `json:"deltas"`
	// Cores are CPU seconds per second of each process in the window.
	GatewayCores float64 `json:"gateway_cores"`
	ClientCores  float64 `json:"client_cores"`
	FakeCores    float64 `json:"fake_cores"`
	// CPUPerDeltaUs is the relaying process's CPU per delta in the window
	// (the gateway, or this client for direct).
	CPUPerDeltaUs float64   `json:"cpu_per_delta_us"`
	From          time.Time `json:"-"`
	To            time.Time `json:"-"`
}

// Case is one load run in both modes.
type Case struct {
	Name    string  `json:"name"`
	Streams int     `json:"concurrent_streams"`
	Rounds  int     `json:"rounds"`
	DelayMs float64 `json:"element_delay_ms"`
	Deltas  int     `json:"deltas_per_stream"`
	// TTFTFromPairs > 0: the time-to-first-token figures of both modes come
	// from that many alternating direct/gateway pairs (bench.Paired).
	TTFTFromPairs int  `json:"ttft_from_pairs,omitempty"`
	Direct        Mode `json:"direct"`
	Gateway       Mode `json:"gateway"`
	// Ratio is gateway / direct for each figure (0 = not applicable).
	Ratio Ratios `json:"ratio_gateway_over_direct"`
	// Added is gateway minus direct, in milliseconds. Per-delta delay and
	// lateness are compared with the control group when there is one.
	AddedTTFTP50Ms     float64 `json:"added_ttft_p50_ms"`
	AddedTTFTP99Ms     float64 `json:"added_ttft_p99_ms"`
	AddedDelayP50Ms    float64 `json:"added_delay_p50_ms,omitempty"`
	AddedDelayP99Ms    float64 `json:"added_delay_p99_ms,omitempty"`
	AddedLatenessP99Ms float64 `json:"added_lateness_p99_ms,omitempty"`
}

// Ratios are gateway/direct.
type Ratios struct {
	TTFTP50       float64 `json:"ttft_p50"`
	TTFTP99       float64 `json:"ttft_p99"`
	DeltasPerSec  float64 `json:"deltas_per_s"`
	CPUPer1k      float64 `json:"cpu_per_1k_deltas"`
	HeapPerStream float64 `json:"heap_per_stream,omitempty"`
	DelayP99      float64 `json:"delay_p99,omitempty"`
}

// Fill computes the ratios and differences.
func (c *Case) Fill() {
	d, g := c.Direct, c.Gateway
	c.Ratio = Ratios{
		TTFTP50:       ratio(g.TTFTP50, d.TTFTP50),
		TTFTP99:       ratio(g.TTFTP99, d.TTFTP99),
		DeltasPerSec:  ratio(g.DeltasPerSec, d.DeltasPerSec),
		CPUPer1k:      ratio(g.CPUPer1k, d.CPUPer1k),
		HeapPerStream: ratio(g.HeapPerStreamKB, d.HeapPerStreamKB),
	}
	c.AddedTTFTP50Ms = g.TTFTP50 - d.TTFTP50
	c.AddedTTFTP99Ms = g.TTFTP99 - d.TTFTP99
	if c.DelayMs > 0 {
		ref := d.Summary
		if g.Control != nil {
			ref = *g.Control
		}
		c.Ratio.DelayP99 = ratio(g.DelayP99, ref.DelayP99)
		c.AddedDelayP50Ms = g.DelayP50 - ref.DelayP50
		c.AddedDelayP99Ms = g.DelayP99 - ref.DelayP99
		c.AddedLatenessP99Ms = g.LatenessP99 - ref.LatenessP99
	}
}

// Target is one performance goal (bench/README.md) and whether this run met it.
type Target struct {
	Name   string  `json:"name"`
	Value  float64 `json:"value"`
	Unit   string  `json:"unit"`
	Limit  string  `json:"limit"`
	Pass   bool    `json:"pass"`
	Note   string  `json:"note,omitempty"`
	Source string  `json:"source"` // which case or measurement
}

// Report is the whole run, as written to results.json.
type Report struct {
	Date    string            `json:"date"`
	Machine map[string]string `json:"machine"`
	Config  map[string]any    `json:"config"`
	Startup struct {
		// GatewayHealthzMs are exec → first 200 from /healthz of the
		// headless gateway (env account only), one per start.
		GatewayHealthzMs []float64 `json:"gateway_exec_to_healthz_ms"`
		MedianMs         float64   `json:"median_ms"`
	} `json:"startup"`
	Cases    []*Case         `json:"cases"`
	Getoxsrf []GetoxsrfCount `json:"getoxsrf"`
	Targets  []Target        `json:"targets"`
	Notes    []string        `json:"notes,omitempty"`
	Extra    map[string]any  `json:"extra,omitempty"`
}

// GetoxsrfCount is how often the gateway fetched a signing key for one
// account during one gateway process's life.
type GetoxsrfCount struct {
	Phase     string  `json:"phase"`
	Account   string  `json:"account"`
	Count     int     `json:"count"`
	Allowed   int     `json:"allowed"`
	LifetimeS float64 `json:"gateway_lifetime_s"`
}

func f(v float64, unit string) string {
	switch {
	case v == 0:
		return "-"
	case v >= 100000:
		return fmt.Sprintf("%.0f%s", v, unit)
	case v >= 100:
		return fmt.Sprintf("%.0f%s", v, unit)
	case v >= 10:
		return fmt.Sprintf("%.1f%s", v, unit)
	}
	return fmt.Sprintf("%.2f%s", v, unit)
}

// fd formats a per-delta delay, which is legitimately 0 for slow cases.
func fd(v, delay float64) string {
	if delay == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fms", v)
}

func fr(v float64) string {
	if v == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fx", v)
}

// Failed counts the targets not met.
func (r *Report) Failed() int {
	return failed(r.Targets, func(t Target) bool { return t.Pass })
}

// Print writes the human-readable report (bench/results.txt).
func (r *Report) Print(w io.Writer) {
	fmt.Fprintf(w, "gemini-gateway benchmark, %s, %s cores (%s), %s\n\n", r.Date, r.Machine["cores"], r.Machine["cpu"], r.Machine["go"])
	r.printCases(w)
	r.printErrors(w)
	r.printShares(w)
	r.printSlow(w)
	if len(r.Getoxsrf) > 0 {
		fmt.Fprintf(w, "getoxsrf per gateway account:")
		for _, g := range r.Getoxsrf {
			fmt.Fprintf(w, " %s/%s=%d (≤%d in %.0fs)", g.Phase, g.Account, g.Count, g.Allowed, g.LifetimeS)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "headless gateway exec → /healthz: median %.1f ms of %d starts\n\n", r.Startup.MedianMs, len(r.Startup.GatewayHealthzMs))
	r.printTargets(w)
}

// printCases writes the table: a row per mode of each case, then the
// ratios and differences gateway vs direct (vs control for delays).
func (r *Report) printCases(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "case\tmode\tstreams\terrors\tttft p50\tttft p99\tdeltas/s\tcpu s/1k deltas\tpeak RSS\theap/stream\tstack/stream\tdelay p50\tdelay p99\t")
	for _, c := range r.Cases {
		for _, m := range c.rows() {
			cpu := fmt.Sprintf("%.4f", m.CPUPer1k)
			if m.name == "control" {
				cpu = "-"
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", c.Name, m.name, m.Streams, m.Errors,
				f(m.TTFTP50, "ms"), f(m.TTFTP99, "ms"), f(m.DeltasPerSec, ""), cpu,
				f(m.PeakRSSMB, "MB"), f(m.HeapPerStreamKB, "KB"), f(m.StackPerStrKB, "KB"),
				fd(m.DelayP50, c.DelayMs), fd(m.DelayP99, c.DelayMs))
		}
		fmt.Fprintf(tw, "%s\tgw/direct\t\t\t%s\t%s\t%s\t%s\t\t%s\t\t\t%s\t\n", c.Name,
			fr(c.Ratio.TTFTP50), fr(c.Ratio.TTFTP99), fr(c.Ratio.DeltasPerSec), fr(c.Ratio.CPUPer1k), fr(c.Ratio.HeapPerStream), fr(c.Ratio.DelayP99))
		added := fmt.Sprintf("%s\tgw-direct\t\t\t%+.2fms\t%+.2fms\t\t\t\t\t\t", c.Name, c.AddedTTFTP50Ms, c.AddedTTFTP99Ms)
		if c.DelayMs > 0 {
			added += fmt.Sprintf("%+.2fms\t%+.2fms", c.AddedDelayP50Ms, c.AddedDelayP99Ms)
		} else {
			added += "\t"
		}
		fmt.Fprintln(tw, added+"\t")
	}
	tw.Flush()
}

// namedMode is a row of the table.
type namedMode struct {
	name string
	Mode
}

// rows are the case's modes: direct, gateway and, if run, the control group.
func (c *Case) rows() []namedMode {
	rows := []namedMode{{"direct", c.Direct}, {"gateway", c.Gateway}}
	if c.Gateway.Control != nil {
		rows = append(rows, namedMode{"control", Mode{Summary: *c.Gateway.Control}})
	}
	return rows
}

func (r *Report) printErrors(w io.Writer) {
	for _, c := range r.Cases {
		for _, m := range c.rows() {
			for _, e := range m.ErrorEx {
				fmt.Fprintf(w, "  error example (%s, %s): %s\n", c.Name, m.name, e)
			}
		}
	}
}

// printShares writes the CPU shares of the processes not in the table.
func (r *Report) printShares(w io.Writer) {
	fmt.Fprintf(w, "\ncpu s/1k deltas: direct = this client process; gateway = the gateway process alone.\n")
	fmt.Fprintf(w, "other shares per 1k deltas (client / fake upstream):")
	for _, c := range r.Cases {
		fmt.Fprintf(w, "  %s: direct %.4f/%.4f, gateway %.4f/%.4f;", c.Name, c.Direct.ClientCPUPer1k, c.Direct.FakeCPUPer1k, c.Gateway.ClientCPUPer1k, c.Gateway.FakeCPUPer1k)
	}
	fmt.Fprintln(w)
}

// printSlow writes, per slow case, the lateness that the delay columns
// cannot show and the CPU with every stream open.
func (r *Report) printSlow(w io.Writer) {
	for _, c := range r.Cases {
		if c.DelayMs == 0 {
			continue
		}
		ref, refName := c.Direct.Summary, "direct"
		if c.Gateway.Control != nil {
			ref, refName = *c.Gateway.Control, "control"
		}
		fmt.Fprintf(w, "%s, lateness p99 (sees a hold-up lasting to a stream's end, which delay cannot; includes the fake's drift): gateway %.2fms, %s %.2fms, gw-%s %+.2fms\n",
			c.Name, c.Gateway.LatenessP99, refName, ref.LatenessP99, refName, c.AddedLatenessP99Ms)
		if st := c.Gateway.Steady; st != nil {
			fmt.Fprintf(w, "%s, all %d streams open (%.1f s window, %.0f deltas/s): gateway %.2f cores = %.1f µs/delta; client %.2f, fake %.2f cores",
				c.Name, c.Streams, st.WindowS, float64(st.Deltas)/st.WindowS, st.GatewayCores, st.CPUPerDeltaUs, st.ClientCores, st.FakeCores)
			if d := c.Direct.Steady; d != nil {
				fmt.Fprintf(w, "; direct client alone %.1f µs/delta", d.CPUPerDeltaUs)
			}
			fmt.Fprintln(w)
		}
	}
}

func (r *Report) printTargets(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "target\tvalue\tlimit\tresult\tmeasured in")
	for _, t := range r.Targets {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.Name, strings.TrimSpace(fmt.Sprintf("%.2f %s", t.Value, t.Unit)), t.Limit, passFail(t.Pass), t.Source)
	}
	tw.Flush()
	for _, n := range r.Notes {
		fmt.Fprintln(w, "note:", n)
	}
}
