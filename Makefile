# tapsim: make help lists the targets.
GO       ?= go
PKGS     ?= ./...
BIN      := bin/tapsim
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X main.version=$(VERSION)

.PHONY: help run build deps test lint bench fuzz clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

deps: ## install the system packages needed to build and test (apt, when missing)
	@scripts/deps.sh

build: deps ## build bin/tapsim
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/tapsim

run: build ## set up and run tapsim
	@$(BIN)

# Packages whose tests are too slow under the race detector run without it,
# so that none of their tests is skipped.
NORACE   := github.com/tapsim/tapsim/emv/dukpt

test: deps lint ## set up and run the whole test suite (race detector on where affordable)
	$(GO) test -race -count=1 $$($(GO) list $(PKGS) | grep -vxF '$(NORACE)')
	$(GO) test -count=1 $(NORACE)

lint: ## gofmt and go vet
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
		if [ -n "$$out" ]; then echo "not gofmt-clean:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

# One benchmark per hot step of an authorisation: ISO 8583 pack/unpack and
# the four messages of one authorisation as the hosts handle them, the
# terminal MAC, the ARQC check, the issuer's durable commit (and on PostgreSQL one
# against two issuer instances on one database), the issuer and
# the acquirer over loopback, and the whole sale terminal -> acquirer ->
# issuer. BENCH=. BENCHPKGS=./... runs every benchmark; BENCHCOUNT=6 gives
# benchstat enough samples.
BENCH      ?= ^Benchmark(Pack0100|Unpack0100|AuthorisationMessages|Alg3|VerifyARQC|VerifyMAC|Authorise|AuthoriseRows|AuthorizeTCP|Authorisation)$$
BENCHPKGS  ?= ./isospec ./emv/mac ./hsm/soft ./issuerhost/store ./issuerhost ./acquirer ./tests/e2e
BENCHCOUNT ?= 1

bench: deps ## run the benchmarks of the hot steps (BENCH=. BENCHPKGS=./... for all)
	$(GO) test -run '^$$' -bench '$(BENCH)' -benchmem -count $(BENCHCOUNT) $(BENCHPKGS)

fuzz: ## run each fuzz target for FUZZTIME (default 60s)
	@scripts/fuzz.sh $${FUZZTIME:-60s}

clean: ## remove build output
	rm -rf bin
