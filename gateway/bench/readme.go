package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The documents that carry figures from `make bench`, relative to the
// module root, and the generated sections in each. A section is the text
// between a line starting with BeginMarker(name) and the line
// EndMarker(name); `make bench-readme` (cmd/benchreadme) rewrites it from
// the files in bench/, and a test fails while a document differs from
// what the files give.
var readmeDocs = []struct {
	Path     string
	Sections []string
}{
	{"README.md", []string{"performance"}},
	{"bench/README.md", []string{"results", "desktop"}},
}

// BeginMarker is the start of a generated section's first line.
func BeginMarker(name string) string { return "<!-- begin bench-readme " + name }

// EndMarker is a generated section's last line.
func EndMarker(name string) string { return "<!-- end bench-readme " + name + " -->" }

// benchFiles are the outputs of one `make bench` (bench/README.md).
type benchFiles struct {
	results Report
	desktop DesktopReport
	goBench GoBench
}

func readBenchFiles(dir string) (*benchFiles, error) {
	var b benchFiles
	for name, v := range map[string]any{"results.json": &b.results, "desktop.json": &b.desktop} {
		raw, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal(raw, v); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	f, err := os.Open(filepath.Join(dir, "go-bench.txt"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if b.goBench, err = ParseGoBench(f); err != nil {
		return nil, fmt.Errorf("go-bench.txt: %w", err)
	}
	if len(b.goBench.Results) == 0 {
		return nil, fmt.Errorf("go-bench.txt: no benchmark results")
	}
	return &b, nil
}

// section renders one generated section.
func (b *benchFiles) section(name string) (string, error) {
	var w bytes.Buffer
	switch name {
	case "performance":
		b.performance(&w)
	case "results":
		codeBlock(&w, b.results.Print)
	case "desktop":
		codeBlock(&w, b.desktop.Print)
	default:
		return "", fmt.Errorf("no generated section %q", name)
	}
	return w.String(), nil
}

// codeBlock writes what print prints as a fenced block, without trailing
// blanks (which editors strip, and which would then fail the check).
func codeBlock(w *bytes.Buffer, print func(io.Writer)) {
	var b bytes.Buffer
	print(&b)
	w.WriteString("```\n")
	for _, line := range strings.SplitAfter(b.String(), "\n") {
		if line != "" {
			w.WriteString(strings.TrimRight(line, " \t\n") + "\n")
		}
	}
	w.WriteString("```\n")
}

// Readmes renders every generated section from root/bench and returns the
// content each document (path relative to root) should have.
func Readmes(root string) (map[string][]byte, error) {
	b, err := readBenchFiles(filepath.Join(root, "bench"))
	if err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	for _, d := range readmeDocs {
		doc, err := os.ReadFile(filepath.Join(root, d.Path))
		if err != nil {
			return nil, err
		}
		s := string(doc)
		for _, name := range d.Sections {
			text, err := b.section(name)
			if err != nil {
				return nil, err
			}
			if s, err = ReplaceSection(s, name, text); err != nil {
				return nil, fmt.Errorf("%s: %w", d.Path, err)
			}
		}
		out[d.Path] = []byte(s)
	}
	return out, nil
}

// ReplaceSection returns doc with the lines between the markers of
// section name replaced by text. Both markers must be there, once each,
// in order.
func ReplaceSection(doc, name, text string) (string, error) {
	begin, end := BeginMarker(name), EndMarker(name)
	if strings.Count(doc, begin) != 1 || strings.Count(doc, end) != 1 {
		return "", fmt.Errorf("section %q: want one %q line and one %q line", name, begin+" … -->", end)
	}
	i := strings.Index(doc, begin)
	nl := strings.IndexByte(doc[i:], '\n')
	j := strings.Index(doc, end)
	if nl < 0 || i+nl > j || (i > 0 && doc[i-1] != '\n') || (j > 0 && doc[j-1] != '\n') {
		return "", fmt.Errorf("section %q: the markers must be whole lines, begin before end", name)
	}
	if text != "" && !strings.HasSuffix(text, "\n") {
		text += "\n"
	}
	return doc[:i+nl+1] + text + doc[j:], nil
}

// goBenchWhat says what the hot-path benchmarks measure, for the table.
var goBenchWhat = map[string]string{
	"upstream.BenchmarkArrayScannerElement":        "splitting the streamed array, per element",
	"upstream.BenchmarkStreamNextDelta":            "element → delta: scanner, JSON, filter",
	"openai.BenchmarkStreamWriterContent":          "one SSE chunk per delta",
	"openai.BenchmarkDecodeChatRequest1MBImage":    "request with a 1 MB base64 image",
	"pool.BenchmarkPick1000Accounts/failover":      "account pick among 1,000, failover",
	"pool.BenchmarkPick1000Accounts/round-robin":   "account pick among 1,000, round-robin",
	"gateway.BenchmarkGatewayStream":               "50-delta stream end to end, client, gateway and fake in one process",
	"gateway.BenchmarkGatewayStreamTools/no-tools": "the same, plain text, no tools declared",
	"gateway.BenchmarkGatewayStreamTools/tools":    "the same, plain text, two tools declared",
	"tools.BenchmarkParserPlainDelta":              "tool-call parser on a plain-text answer",
	"tools.BenchmarkParserCallBlock":               "tool-call parser on a streamed two-call block",
	"logging.BenchmarkRedactPlain":                 "redacting a log line with no secret in it",
	"fakeupstream.BenchmarkBenchScenario":          "the fake upstream serving a bench stream, for reference",
}

// performance writes README.md's figures: machine and date, the load
// comparison, the targets, the hot paths and the desktop figures.
func (b *benchFiles) performance(w *bytes.Buffer) {
	r, d, g := &b.results, &b.desktop, &b.goBench
	fmt.Fprintf(w, "Figures of the last `make bench`, written here by `make bench-readme` from the files in\n")
	fmt.Fprintf(w, "`bench/` (a test fails while they differ):\n\n")
	fmt.Fprintf(w, "* load comparison (`results.json`): %s\n", machineLine(r.Date, r.Machine))
	fmt.Fprintf(w, "* desktop figures (`desktop.json`): %s\n", machineLine(d.Date, d.Machine))
	fmt.Fprintf(w, "* hot paths (`go-bench.txt`): %s\n\n", goBenchMachine(g))
	b.loadTable(w)
	b.slowLines(w)
	b.targetTable(w)
	b.goBenchTable(w)
	b.desktopTable(w)
}

// machineLine is "2026-11-28 08:28 UTC; 2 cores, AMD EPYC, linux/amd64, kernel …, go1.26.8".
func machineLine(date string, m map[string]string) string {
	when := date
	if t, err := time.Parse(time.RFC3339, date); err == nil {
		when = t.UTC().Format("2006-01-02 15:04 UTC")
	}
	if when == "" {
		when = "date not recorded"
	}
	parts := []string{m["cores"] + " cores", m["cpu"], m["os"]}
	if k := m["kernel"]; k != "" {
		parts = append(parts, "kernel "+k)
	}
	parts = append(parts, m["go"])
	return when + "; " + strings.Join(parts, ", ")
}

// goBenchMachine describes go-bench.txt's machine from its own lines.
func goBenchMachine(g *GoBench) string {
	c := g.Config
	when := c["date"]
	if t, err := time.Parse(time.RFC3339, when); err == nil {
		when = t.UTC().Format("2006-01-02 15:04 UTC")
	}
	if when == "" {
		when = "date not recorded in the file"
	}
	procs := g.Results[0].Procs
	s := fmt.Sprintf("%s; GOMAXPROCS %d, %s, %s/%s", when, procs, c["cpu"], c["goos"], c["goarch"])
	if v := c["go"]; v != "" {
		s += ", " + v
	} else {
		s += ", Go version not recorded in the file"
	}
	return s
}

// loadTable writes a row per mode of each case of the load comparison.
func (b *benchFiles) loadTable(w *bytes.Buffer) {
	fmt.Fprintf(w, "Load comparison: the same answers streamed from the fake upstream directly (the gateway's own\n")
	fmt.Fprintf(w, "upstream client) and through the gateway; `+` is gateway − direct, CPU is the relaying process's\n")
	fmt.Fprintf(w, "(method and columns: [bench/README.md](bench/README.md)).\n\n")
	fmt.Fprintf(w, "| case | mode | streams | errors | TTFT p50 | TTFT p99 | deltas/s | CPU s per 1k deltas | peak RSS |\n")
	fmt.Fprintf(w, "|---|---|--:|--:|--:|--:|--:|--:|--:|\n")
	for _, c := range b.results.Cases {
		for _, m := range c.rows() {
			p50, p99, cpu, rss := ms(m.TTFTP50), ms(m.TTFTP99), fmt.Sprintf("%.4f", m.CPUPer1k), "-"
			switch m.name {
			case "gateway":
				p50 += fmt.Sprintf(" (%+.2f)", c.AddedTTFTP50Ms)
				p99 += fmt.Sprintf(" (%+.2f)", c.AddedTTFTP99Ms)
				cpu += fmt.Sprintf(" (%.2f×)", c.Ratio.CPUPer1k)
				rss = fmt.Sprintf("%.1f MB", m.PeakRSSMB)
			case "control":
				cpu = "-"
			}
			fmt.Fprintf(w, "| %s | %s | %s | %d | %s | %s | %s | %s | %s |\n", c.Name, m.name, group(strconv.Itoa(m.Streams)), m.Errors,
				p50, p99, group(fmt.Sprintf("%.0f", m.DeltasPerSec)), cpu, rss)
		}
	}
	if c := b.results.Cases; len(c) > 0 && c[0].TTFTFromPairs > 0 {
		fmt.Fprintf(w, "\nCase %s's TTFT comes from %d alternating direct/gateway pairs.", c[0].Name, c[0].TTFTFromPairs)
	}
	fmt.Fprintln(w)
}

// slowLines writes, per slow case, the per-delta delay and lateness
// against the control group, memory per open stream and steady CPU.
func (b *benchFiles) slowLines(w *bytes.Buffer) {
	for _, c := range b.results.Cases {
		if c.DelayMs == 0 {
			continue
		}
		ref, refName := c.Direct.Summary, "direct run"
		if c.Gateway.Control != nil {
			ref, refName = *c.Gateway.Control, fmt.Sprintf("control group (%d direct streams at the same time)", c.Gateway.Control.Streams)
		}
		fmt.Fprintf(w, "\n%s (a delta every %.0f ms, all streams open at once): per delta, queueing delay\n", c.Name, c.DelayMs)
		fmt.Fprintf(w, "p99 %.2f ms through the gateway against %.2f ms in the %s, %+.2f ms.\n", c.Gateway.DelayP99, ref.DelayP99, refName, c.AddedDelayP99Ms)
		fmt.Fprintf(w, "Delay cannot see a hold-up that lasts to the end of a stream; lateness, which includes the fake's\n")
		fmt.Fprintf(w, "timer drift, can: p99 %.2f ms against %.2f ms, %+.2f ms.\n", c.Gateway.LatenessP99, ref.LatenessP99, c.AddedLatenessP99Ms)
		fmt.Fprintf(w, "Per open stream the gateway holds %.1f KB of heap and %.1f KB of stacks", c.Gateway.HeapPerStreamKB, c.Gateway.StackPerStrKB)
		if st := c.Gateway.Steady; st != nil {
			fmt.Fprintf(w, "; with all open it uses %.2f cores, %.1f µs per delta", st.GatewayCores, st.CPUPerDeltaUs)
		}
		fmt.Fprintln(w, ".")
	}
}

// targetTable writes the PASS/FAIL lines of both runs.
func (b *benchFiles) targetTable(w *bytes.Buffer) {
	fmt.Fprintf(w, "\n| target | value | limit | result | measured in |\n|---|--:|---|---|---|\n")
	for _, t := range b.results.Targets {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", t.Name, strings.TrimSpace(fmt.Sprintf("%.2f %s", t.Value, t.Unit)), t.Limit, passFail(t.Pass), t.Source)
	}
	for _, t := range b.desktop.Targets {
		fmt.Fprintf(w, "| %s | %s | %s | %s | `bench/desktop.sh` |\n", t.Name, value(t.Value), t.Limit, passFail(t.Pass))
	}
}

// goBenchTable writes the hot paths, values as go-bench.txt has them.
func (b *benchFiles) goBenchTable(w *bytes.Buffer) {
	fmt.Fprintf(w, "\nHot paths (`go test -run '^$' -bench . -benchmem ./gateway/...`):\n\n")
	fmt.Fprintf(w, "| benchmark | ns/op | B/op | allocs/op | other |\n|---|--:|--:|--:|---|\n")
	for _, r := range b.goBench.Results {
		name := "`" + r.Name + "`"
		if what := goBenchWhat[r.Name]; what != "" {
			name += " (" + what + ")"
		}
		var other []string
		for _, m := range r.Metrics {
			switch m.Unit {
			case "ns/op", "B/op", "allocs/op":
			default:
				other = append(other, group(m.Value)+" "+m.Unit)
			}
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", name, group(r.Metric("ns/op")), group(r.Metric("B/op")), group(r.Metric("allocs/op")), strings.Join(other, ", "))
	}
}

// desktopTable writes start-up and idle cost of both binaries; a figure
// that was not measured says so and fails in the targets above.
func (b *benchFiles) desktopTable(w *bytes.Buffer) {
	d := &b.desktop
	fmt.Fprintf(w, "\nDesktop figures (`bench/desktop.sh`): exec → first 200 from `/healthz`, and each binary left idle\n")
	fmt.Fprintf(w, "for %.0f s after start-up. For the desktop binary the start figure is its embedded gateway answering\n", d.IdleS)
	fmt.Fprintf(w, "while the window is being shown, not the window; it idles with the window hidden. Wake-ups are\n")
	fmt.Fprintf(w, "context switches of all threads per second.\n\n")
	fmt.Fprintf(w, "| binary | exec → /healthz, median (max; starts) | idle CPU, %% of a core | idle RSS | wake-ups/s | threads |\n")
	fmt.Fprintf(w, "|---|--:|--:|--:|--:|--:|\n")
	for _, x := range []struct {
		name string
		st   StartTimes
		u    *IdleUse
	}{{"headless", d.Headless, d.IdleHeadless}, {"desktop app", d.GUI, d.IdleGUI}} {
		start := "not measured: FAIL"
		if len(x.st.Ms) > 0 {
			start = fmt.Sprintf("%.1f ms (%.1f; %d)", x.st.MedianMs, x.st.MaxMs, len(x.st.Ms))
		}
		idle := "| not measured: FAIL | | | |"
		if x.u != nil {
			idle = fmt.Sprintf("| %.3f | %.1f MB | %.1f | %d |", x.u.CPUPercent, x.u.RSSMB, x.u.WakeupsPerS, x.u.Threads)
		}
		fmt.Fprintf(w, "| %s | %s %s\n", x.name, start, idle)
	}
	if d.GUINote != "" {
		fmt.Fprintf(w, "\nDesktop app: %s\n", d.GUINote)
	}
}

// ms formats milliseconds for the tables.
func ms(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f ms", v)
	case v >= 10:
		return fmt.Sprintf("%.1f ms", v)
	}
	return fmt.Sprintf("%.2f ms", v)
}

// group puts thousands separators into the integer part of a number
// written in decimal: 23149627 → 23,149,627; 160.4 stays.
func group(s string) string {
	intPart, frac, _ := strings.Cut(s, ".")
	sign := ""
	if strings.HasPrefix(intPart, "-") {
		sign, intPart = "-", intPart[1:]
	}
	if len(intPart) <= 4 {
		return s
	}
	var parts []string
	for len(intPart) > 3 {
		parts = append([]string{intPart[len(intPart)-3:]}, parts...)
		intPart = intPart[:len(intPart)-3]
	}
	parts = append([]string{intPart}, parts...)
	out := sign + strings.Join(parts, ",")
	if frac != "" {
		out += "." + frac
	}
	return out
}

// ReadmePaths lists the documents Readmes renders, sorted.
func ReadmePaths() []string {
	var ps []string
	for _, d := range readmeDocs {
		ps = append(ps, d.Path)
	}
	sort.Strings(ps)
	return ps
}
