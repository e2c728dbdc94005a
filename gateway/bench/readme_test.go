package bench

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The README's performance figures and bench/README.md's result blocks
// must be what `make bench-readme` makes of the committed outputs in
// bench/, so that they cannot drift from them again.
func TestReadmesMatchBenchOutputs(t *testing.T) {
	root := filepath.Join("..", "..")
	docs, err := Readmes(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != len(readmeDocs) {
		t.Fatalf("%d documents rendered, want %d", len(docs), len(readmeDocs))
	}
	for p, want := range docs {
		got, err := os.ReadFile(filepath.Join(root, p))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from the figures in bench/ (run make bench-readme):\n%s", p, firstDiff(string(got), string(want)))
		}
	}
	// The generated README section states where the figures come from.
	readme := string(docs["README.md"])
	for _, s := range []string{"go1.26", "2 cores", "linux/amd64", "UTC", "BenchmarkStreamNextDelta", "| 1000 slow | control |", "lateness"} {
		if !strings.Contains(readme, s) {
			t.Errorf("README.md's generated section lacks %q", s)
		}
	}
}

func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range max(len(al), len(bl)) {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			return "line " + strconv.Itoa(i+1) + ":\n  has:  " + x + "\n  want: " + y
		}
	}
	return "(same lines, different bytes)"
}

func TestReplaceSection(t *testing.T) {
	doc := "intro\n" + BeginMarker("x") + ": generated -->\nold\nlines\n" + EndMarker("x") + "\nafter\n"
	got, err := ReplaceSection(doc, "x", "new")
	want := "intro\n" + BeginMarker("x") + ": generated -->\nnew\n" + EndMarker("x") + "\nafter\n"
	if err != nil || got != want {
		t.Fatalf("got %q, %v\nwant %q", got, err, want)
	}
	for name, bad := range map[string]string{
		"no markers":   "intro\n",
		"no end":       BeginMarker("x") + " -->\nold\n",
		"end first":    EndMarker("x") + "\n" + BeginMarker("x") + " -->\n",
		"twice":        doc + doc,
		"not a line":   "text " + BeginMarker("x") + " -->\n" + EndMarker("x") + "\n",
		"other marker": BeginMarker("y") + " -->\n" + EndMarker("y") + "\n",
	} {
		if _, err := ReplaceSection(bad, "x", "new"); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestParseGoBench(t *testing.T) {
	in := `date: 2026-12-07T18:00:00Z
go: go1.26.8
goos: linux
goarch: amd64
pkg: github.com/gemgate/gemini-gateway/gateway/upstream
cpu: Some CPU @ 2.0GHz
BenchmarkStreamNextDelta-2   	 1988415	       600.3 ns/op	 258.22 MB/s	     131 B/op	       3 allocs/op
--- FAIL: BenchmarkBroken-2
    x_test.go:30: boom
PASS
ok  	github.com/gemgate/gemini-gateway/gateway/upstream	2.260s
pkg: github.com/gemgate/gemini-gateway/gateway/pool
cpu: Some CPU @ 2.0GHz
BenchmarkPick1000Accounts/round-robin-2      	   37851	     32191 ns/op	       0 B/op	       0 allocs/op
BenchmarkOdd-2 12 oops ns/op
`
	g, err := ParseGoBench(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if g.Config["cpu"] != "Some CPU @ 2.0GHz" || g.Config["go"] != "go1.26.8" || g.Config["date"] != "2026-12-07T18:00:00Z" {
		t.Errorf("config %v", g.Config)
	}
	if len(g.Results) != 2 {
		t.Fatalf("results %+v", g.Results)
	}
	r := g.Results[0]
	if r.Name != "upstream.BenchmarkStreamNextDelta" || r.Procs != 2 || r.N != 1988415 ||
		r.Metric("ns/op") != "600.3" || r.Metric("MB/s") != "258.22" || r.Metric("allocs/op") != "3" || r.Metric("x") != "" {
		t.Errorf("first result %+v", r)
	}
	if g.Results[1].Name != "pool.BenchmarkPick1000Accounts/round-robin" || g.Results[1].Metric("ns/op") != "32191" {
		t.Errorf("second result %+v", g.Results[1])
	}
	if got := goBenchMachine(&g); got != "2026-12-07 18:00 UTC; GOMAXPROCS 2, Some CPU @ 2.0GHz, linux/amd64, go1.26.8" {
		t.Errorf("machine %q", got)
	}
}

func TestGroup(t *testing.T) {
	for in, want := range map[string]string{"23149627": "23,149,627", "160.4": "160.4", "1430": "1430",
		"99090": "99,090", "-123456.5": "-123,456.5", "": ""} {
		if got := group(in); got != want {
			t.Errorf("group(%q) = %q, want %q", in, got, want)
		}
	}
}

// A GUI figure that could not be measured fails its target and prints
// FAIL, in the text report and in the README's table; it does not vanish.
func TestDesktopNotMeasuredFails(t *testing.T) {
	r := DesktopReport{Date: "2026-12-07T18:00:00Z", Machine: map[string]string{"cores": "2"}, IdleS: 60,
		IdleHeadless: &IdleUse{CPUPercent: 0.05, RSSMB: 15, WakeupsPerS: 4.8, Threads: 7},
		GUINote:      "no X display: GUI not measured"}
	r.Headless.Add(30)
	r.Headless.Add(40)
	r.Judge()
	if r.Headless.MedianMs != 35 || r.Headless.MaxMs != 40 {
		t.Errorf("start times %+v", r.Headless)
	}
	if n := r.Failed(); n != 3 {
		t.Errorf("%d targets failed, want 3 (GUI start, idle CPU, wake-ups): %+v", n, r.Targets)
	}
	var w bytes.Buffer
	r.Print(&w)
	if c := strings.Count(w.String(), "FAIL"); c != 4 {
		t.Errorf("%d FAIL in\n%s", c, w.String())
	}
	b := &benchFiles{desktop: r}
	var md bytes.Buffer
	b.desktopTable(&md)
	b.targetTable(&md)
	if !strings.Contains(md.String(), "| desktop app | not measured: FAIL | not measured: FAIL |") || strings.Count(md.String(), "| FAIL |") != 3 {
		t.Errorf("README table:\n%s", md.String())
	}
	// Measured, it passes.
	r.GUI.Add(90)
	r.IdleGUI = &IdleUse{CPUPercent: 0.2, WakeupsPerS: 18}
	r.Judge()
	if n := r.Failed(); n != 0 {
		t.Errorf("%d targets failed: %+v", n, r.Targets)
	}
}
