# liveproxyd — see README.md. Every target sets up what it needs.
GO       ?= go
FUZZTIME ?= 30s
SEEDS    ?= 500
SEEDOFFSET ?= 0
STATICCHECK_VERSION ?= v0.8.2
MUTATE_FLAGS ?=

.PHONY: all setup build test sim fuzz lint demo bench mutate clean

all: build

setup:
	@bash scripts/setup.sh

build:
	$(GO) build -o bin/ ./cmd/...

# The README's test command: unit, property, simulator, fuzz seeds, daemon
# and end-to-end tests (real Icinga 2 and Perl client), plus lint.
test: setup lint
	$(GO) test -count=1 $$($(GO) list ./... | grep -v /e2e)
	@# Alone, so the CPU-heavy simulator cannot slow the real Icinga's heartbeats.
	$(GO) test -count=1 ./e2e

# More simulator seeds than the default test run; CI may pass another
# SEEDOFFSET each run (seeds SEEDOFFSET+1..SEEDOFFSET+SEEDS; a failure
# replays with -seed=N alone).
sim:
	$(GO) test -count=1 ./sim -run TestSim -timeout 0 -seeds=$(SEEDS) -seedoffset=$(SEEDOFFSET) -v

# Each fuzz target for a bounded time.
fuzz:
	@for t in $$($(GO) test -list '^Fuzz' ./fuzz | grep '^Fuzz'); do \
		echo "== $$t ($(FUZZTIME))"; \
		$(GO) test ./fuzz -run='^$$' -fuzz="^$$t$$" -fuzztime=$(FUZZTIME) || exit 1; \
	done

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt: $$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

# Every benchmark scenario in one bounded run (at most 10 minutes); prints
# the table and writes BENCHMARKS.md. setup installs Icinga 2 and the
# reference hops (HAProxy, socat) the scenarios compare against.
bench: setup
	$(GO) run ./cmd/benchall -out BENCHMARKS.md

# Mutation testing of core, then of the wire format it relies on
# (livestatus): every change no test notices is listed, then the summary,
# per package. A full run is ~1150 mutants at 1-25 s each on a 2-core box
# (hours); CI runs MUTATE_FLAGS="-sample 12 -seed 1 -floor 80" (.ci/run,
# a few minutes with the load). See README.md, Testing.
mutate:
	$(GO) run ./cmd/mutate $(MUTATE_FLAGS)
	$(GO) run ./cmd/mutate -pkg ./livestatus $(MUTATE_FLAGS)

demo: setup build
	bash scripts/demo.sh

clean:
	rm -rf bin
