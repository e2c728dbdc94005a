// Command benchreadme is `make bench-readme`: it rewrites the generated
// sections of README.md and bench/README.md (between their
// "begin bench-readme" and "end bench-readme" lines) from the outputs of
// the last `make bench` in bench/: results.json, desktop.json and
// go-bench.txt. With -check it writes nothing and exits 1 if a document
// differs from what the files give.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/gemgate/gemini-gateway/gateway/bench"
)

func main() {
	root := flag.String("root", ".", "the module root (holding README.md and bench/)")
	check := flag.Bool("check", false, "only report documents that differ; exit 1 if any")
	flag.Parse()
	docs, err := bench.Readmes(*root)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchreadme:", err)
		os.Exit(1)
	}
	stale := 0
	for _, p := range bench.ReadmePaths() {
		path := filepath.Join(*root, p)
		old, err := os.ReadFile(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, "benchreadme:", err)
			os.Exit(1)
		}
		switch {
		case bytes.Equal(old, docs[p]):
			fmt.Println("benchreadme:", p, "is up to date")
		case *check:
			fmt.Println("benchreadme:", p, "differs from the figures in bench/ (run make bench-readme)")
			stale++
		default:
			if err := os.WriteFile(path, docs[p], 0o644); err != nil {
				fmt.Fprintln(os.Stderr, "benchreadme:", err)
				os.Exit(1)
			}
			fmt.Println("benchreadme: updated", p)
		}
	}
	if stale > 0 {
		os.Exit(1)
	}
}
