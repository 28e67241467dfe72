GO ?= go
PKGS := ./...
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo none)
LDFLAGS := -X main.version=$(VERSION) -X main.commit=$(COMMIT)

.PHONY: build test lint fuzz bench demo clean

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/personactl ./cmd/personactl
	$(GO) build -o bin/mana-auth-dev ./cmd/mana-auth-dev

test: lint
	$(GO) test -count=1 $(PKGS)

lint:
	@unformatted="$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))"; \
	if [ -n "$$unformatted" ]; then echo "gofmt would change:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet $(PKGS)

fuzz:
	$(GO) test ./catalog -run '^$$' -fuzz FuzzLoad -fuzztime 30s

bench:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

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
