GO ?= go
PKGS := ./...
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo none)
LDFLAGS := -X main.version=$(VERSION) -X main.commit=$(COMMIT)
# Tools run with `go run pkg@version`: pinned, fetched through the Go module
# proxy, nothing to install.
ACTIONLINT := github.com/rhysd/actionlint/cmd/actionlint@v1.7.7
GORELEASER := github.com/goreleaser/goreleaser/v2@v2.15.1

.PHONY: build test campaign lint actionlint release-check fuzz bench demo clean

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/personactl ./cmd/personactl
	$(GO) build -o bin/mana-auth-dev ./cmd/mana-auth-dev

# Every test but the reliability campaign's, which overlap the end-to-end
# tests of the same faults: `make campaign` runs their fast slice, CI both.
test: lint actionlint
	$(GO) test -count=1 -skip '^TestCampaign' $(PKGS)

# The reliability campaign's fast slice (faults, kills, lock loss,
# concurrency, hostile input, secrets): about 20 s.
campaign:
	$(GO) test -count=1 -run '^TestCampaign' ./cmd/personactl

lint:
	@unformatted="$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))"; \
	if [ -n "$$unformatted" ]; then echo "gofmt would change:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet $(PKGS)

# The example workflows must pass actionlint, and their scripts and the
# scripts in the workflows shellcheck (required under CI, skipped with a
# notice elsewhere when shellcheck is not installed).
actionlint:
	@if command -v shellcheck >/dev/null 2>&1; then shellcheck examples/ci/*.sh; \
	elif [ -n "$$CI" ]; then echo "shellcheck is not installed"; exit 1; \
	else echo "shellcheck is not installed: the scripts and the workflows' run steps are not checked"; fi
	$(GO) run $(ACTIONLINT) examples/github-actions/*.yml

# Checks .goreleaser.yaml, builds a snapshot release into dist/ as a tag
# would, and installs this machine's archive from it with
# examples/ci/install.sh, pinned to its SHA-256, served over HTTP. Not part
# of test: the first run downloads and builds goreleaser, and the release
# builds every platform (minutes). CI runs it.
release-check:
	$(GO) run $(GORELEASER) check
	$(GO) run $(GORELEASER) release --snapshot --clean
	PERSONACTL_RELEASE_DIST=$(CURDIR)/dist $(GO) test -count=1 -v -run '^TestInstallSnapshotRelease$$' ./examples/ci

# The reliability campaign (faults, kills, lock loss, concurrency, hostile
# input, secrets, and PERSONACTL_MODEL_HISTORIES random histories of the
# model-based test on each state backend) in full; make campaign runs its
# fast slice and make test a few histories. Needs PostgreSQL
# (PERSONACTL_TEST_DATABASE_URL); prints its figures. -parallel lets the
# model's six shards (three per backend) run at once; no other campaign
# test runs in parallel.
PERSONACTL_MODEL_HISTORIES ?= 1000
.PHONY: reliability
reliability:
	PERSONACTL_CAMPAIGN=full PERSONACTL_MODEL_HISTORIES=$(PERSONACTL_MODEL_HISTORIES) PERSONACTL_REQUIRE_DB=1 $(GO) test -count=1 -v -parallel 6 -timeout 60m -run '^(TestCampaign|TestModelHistories)' ./cmd/personactl

fuzz:
	$(GO) test ./catalog -run '^$$' -fuzz FuzzLoad -fuzztime 30s
	$(GO) test ./state/file -run '^$$' -fuzz FuzzParseJournal -fuzztime 30s
	$(GO) test ./state/file -run '^$$' -fuzz FuzzCloseEntry -fuzztime 30s
	$(GO) test ./state/adminapi -run '^$$' -fuzz '^FuzzDetail$$' -fuzztime 30s

# One table: plan, apply, destroy and plan --live at 10, 1,000 and 10,000
# personas against mana-auth-dev in memory and on PostgreSQL, each beside
# its lower bound measured in the same run (about 7 minutes on 2 cores).
# BENCHFLAGS passes options, e.g. BENCHFLAGS=--stores=memory; the Go
# benchmarks of each package run with go test -bench.
bench:
	$(GO) run ./cmd/personactl-bench $(BENCHFLAGS)

demo: build
	bash scripts/demo.sh

clean:
	rm -rf bin .demo

# The man page, generated from the command tree; read it with man -l bin/personactl.1.
.PHONY: man
man:
	@mkdir -p bin
	$(GO) run -ldflags "$(LDFLAGS)" ./cmd/personactl man > bin/personactl.1.tmp
	mv bin/personactl.1.tmp bin/personactl.1
