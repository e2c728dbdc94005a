// Package wine holds the end-to-end test of the packaged Windows build
// under Wine (e2e_test.go, build tag wine_e2e); make test-windows runs it.
package wine
