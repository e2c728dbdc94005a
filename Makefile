# gemini-gateway — see README.md. Every target works on a clean clone.
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X github.com/gemgate/gemini-gateway/app.Version=$(VERSION)
# migrated_fynedo: the UI only touches widgets on the Fyne goroutine.
TAGS     := migrated_fynedo
GO       ?= go
FUZZTIME ?= 10s
PKGS     := ./...

.PHONY: all setup build build-headless fake run run-headless test test-go fuzz-smoke fuzz bench soak lint screenshots package clean windows dist test-windows check-darwin settings-readme bench-readme

all: build

## setup: install the Debian packages, Go modules and npm client the build and tests need
setup:
	.ci/setup

## build: the desktop app with the gateway inside -> ./bin/gemini-gateway
build:
	$(GO) build -tags $(TAGS) -trimpath -ldflags "$(LDFLAGS)" -o bin/gemini-gateway .

## build-headless: a cgo-free server binary without the GUI -> ./bin/gemini-gateway-headless
build-headless:
	CGO_ENABLED=0 $(GO) build -tags nogui -trimpath -ldflags "$(LDFLAGS)" -o bin/gemini-gateway-headless .

## fake: the fake Gemini Business upstream -> ./bin/fake-upstream
fake:
	$(GO) build -trimpath -o bin/fake-upstream ./gateway/upstream/fakeupstream/cmd/fake-upstream

## run: build and start the desktop app
run: build
	./bin/gemini-gateway

## run-headless: build and serve without a GUI
run-headless: build
	./bin/gemini-gateway -headless

## settings-readme: write README's settings tables from the settings table (app/settings_table.go)
settings-readme:
	UPDATE_README=1 $(GO) test -tags nogui -count=1 -run '^TestREADMESettingsTables$$' ./app/

## test: everything — vet, the race-enabled test suite against real PostgreSQL,
## a real Secret Service and Xvfb, and a short run of every fuzz target
test:
	.ci/with-services $(MAKE) --no-print-directory test-go fuzz-smoke check-darwin test-windows

test-go: lint
	$(GO) test -race -count=1 -timeout 20m $(PKGS)

# Each fuzz target for FUZZTIME (10s in the test suite; `make fuzz` runs longer).
FUZZ_TARGETS := \
	./gateway/upstream:FuzzArrayScanner ./gateway/upstream:FuzzStreamDecode ./gateway/upstream:FuzzParseOXSRF ./gateway/upstream:FuzzElementDecode ./gateway/upstream:FuzzMergeSetCookies \
	./gateway/openai:FuzzDecodeChatRequest ./gateway/openai:FuzzSSERoundTrip \
	./gateway/accounts:FuzzParseImport ./internal/dotenv:FuzzParseLine \
	./gateway/upstream:FuzzDecodeMaybeBase64 \
	./gateway/tools:FuzzParser \
	./gateway:FuzzParseModels \
	./gateway:FuzzOriginAllowed ./app/store:FuzzPythonDSN

fuzz-smoke:
	@for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; fn=$${t##*:}; \
		echo "fuzz $$fn ($(FUZZTIME))"; \
		GO=$(GO) .ci/fuzz-one $$pkg $$fn $(FUZZTIME) || exit 1; \
	done

## fuzz: every fuzz target for 10 minutes
fuzz:
	$(MAKE) --no-print-directory fuzz-smoke FUZZTIME=10m

## bench: Go benchmarks of the hot paths (bench/go-bench.txt), the gateway-vs-direct
## load comparison (table, bench/results.json) and the desktop figures (bench/desktop.json)
## — see bench/README.md — and ends with bench-readme's command. Every step runs; it fails if
## one failed or a target is not met. About 3 minutes on two cores once the builds are cached.
bench:
	@s=0; \
	{ echo "date: $$(date -u +%Y-%m-%dT%H:%M:%SZ)"; echo "go: $$($(GO) env GOVERSION)"; \
	  $(GO) test -run '^$$' -bench . -benchmem -count 1 ./gateway/...; } >bench/go-bench.txt || s=1; cat bench/go-bench.txt; \
	$(GO) run ./gateway/bench/cmd/gwbench -out bench/results.json >bench/results.txt || s=1; cat bench/results.txt; \
	bench/desktop.sh || s=1; \
	$(GO) run ./gateway/bench/cmd/benchreadme || s=1; \
	exit $$s

## bench-readme: rewrite README.md's performance figures and bench/README.md's result blocks
## from the outputs of the last `make bench` in bench/ (a test fails while they differ)
bench-readme:
	$(GO) run ./gateway/bench/cmd/benchreadme

## soak: the full load and soak test: 1,000 concurrent streams, then 30 minutes
## of steady traffic while accounts change (SOAK_DURATION=5m for a shorter run)
soak:
	SOAK=full $(GO) test -count=1 -timeout 60m -run '^TestLoadAndSoak$$' -v ./gateway/

## lint: formatting and vet
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet -tags $(TAGS) $(PKGS)

## screenshots: run the real app under Xvfb with demo data and save docs/screenshots/*.png
screenshots: build fake
	.ci/with-services .ci/screenshots

## package: the Linux package (tar.xz with a .desktop entry) via fyne package
package:
	$(GO) run fyne.io/tools/cmd/fyne@v1.7.4 package -os linux -release -tags $(TAGS) --app-build 1 -name "Gemini Gateway" -icon assets/icon.png
	git checkout -- FyneApp.toml 2>/dev/null || true

## windows: the Windows zip, cross-built with mingw-w64 ->
## dist/gemini-gateway-<version>-windows-amd64.zip (see .ci/build-windows)
windows:
	.ci/build-windows "$(VERSION)" "$(LDFLAGS)" "$(TAGS)"

## dist: the Linux package and the Windows zip
dist: package windows

## test-windows: the Windows zip, then the Windows test binaries, the packaged
## .exe (headless and desktop) under Wine (see .ci/test-windows)
test-windows:
	.ci/test-windows "$(VERSION)" "$(LDFLAGS)" "$(TAGS)"

## check-darwin: the cgo-free headless build compiles for macOS
check-darwin:
	CGO_ENABLED=0 GOOS=darwin GOARCH=arm64 $(GO) build -tags nogui -o /dev/null .
	CGO_ENABLED=0 GOOS=darwin GOARCH=amd64 $(GO) build -tags nogui -o /dev/null .

clean:
	rm -rf bin dist
