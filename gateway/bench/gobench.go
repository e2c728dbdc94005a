package bench

import (
	"bufio"
	"io"
	"path"
	"strconv"
	"strings"
)

// GoBench is what `go test -bench` wrote to bench/go-bench.txt: the
// results and the configuration lines ("key: value": goos, goarch, cpu,
// pkg, and the date and go lines `make bench` writes first).
type GoBench struct {
	// Config holds the first value of each key except pkg.
	Config  map[string]string
	Results []GoBenchResult
}

// GoBenchResult is one benchmark line.
type GoBenchResult struct {
	// Name is the package's last element and the benchmark without its
	// -GOMAXPROCS suffix: "upstream.BenchmarkStreamNextDelta".
	Name  string
	Procs int
	N     int64
	// Metrics are the value/unit pairs in the line's order, values as
	// written (so a report repeats them exactly).
	Metrics []Metric
}

// Metric is one value/unit pair of a benchmark line.
type Metric struct{ Value, Unit string }

// Metric returns the value of unit ("" if the line has none).
func (r GoBenchResult) Metric(unit string) string {
	for _, m := range r.Metrics {
		if m.Unit == unit {
			return m.Value
		}
	}
	return ""
}

// ParseGoBench reads Go benchmark output. Lines it does not know (PASS,
// ok, test logs) are skipped.
func ParseGoBench(r io.Reader) (GoBench, error) {
	g := GoBench{Config: map[string]string{}}
	pkg := ""
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if k, v, ok := strings.Cut(line, ":"); ok && k != "" && !strings.ContainsAny(k, " \t") && !strings.HasPrefix(k, "Benchmark") {
			v = strings.TrimSpace(v)
			if k == "pkg" {
				pkg = path.Base(v)
			} else if _, seen := g.Config[k]; !seen {
				g.Config[k] = v
			}
			continue
		}
		if res, ok := parseGoBenchLine(line); ok {
			if pkg != "" {
				res.Name = pkg + "." + res.Name
			}
			g.Results = append(g.Results, res)
		}
	}
	return g, sc.Err()
}

// parseGoBenchLine parses "BenchmarkX-2  1000  123 ns/op  4 B/op ...".
func parseGoBenchLine(line string) (GoBenchResult, bool) {
	f := strings.Fields(line)
	if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") || len(f)%2 != 0 {
		return GoBenchResult{}, false
	}
	n, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return GoBenchResult{}, false
	}
	r := GoBenchResult{Name: f[0], N: n, Procs: 1}
	if i := strings.LastIndexByte(f[0], '-'); i > 0 {
		if p, err := strconv.Atoi(f[0][i+1:]); err == nil {
			r.Name, r.Procs = f[0][:i], p
		}
	}
	for i := 2; i+1 < len(f); i += 2 {
		if _, err := strconv.ParseFloat(f[i], 64); err != nil {
			return GoBenchResult{}, false
		}
		r.Metrics = append(r.Metrics, Metric{f[i], f[i+1]})
	}
	return r, true
}
