// Package bench is the load driver behind `make bench`: it streams chat
// answers from the fake upstream directly (the physical limit: the
// upstream client and array parser the gateway itself uses, in this
// process) and through a gateway child process (real HTTP on loopback, SSE
// parsed by a real client), and measures both the same way.
//
// It holds the parts cmd/gwbench composes: the two stream clients, the
// concurrent load runner, percentiles, /proc readers for another process's
// CPU time and RSS, a reader of the gateway's heap through its pprof
// endpoint, child-process management, and the report (table and JSON).
// Everything it dials is on 127.0.0.1.
package bench
