# calls: build, test, demo and benchmark from one place.
#   make demo    build everything, start calls-sim, run the example against it
#   make test    every test: Rust (unit, integration against calls-sim), lints
#   make bench   benchmarks against calls-sim (prints a markdown table)
CARGO ?= cargo
RELEASE_DIR := target/release

.PHONY: all build test lint rust-test demo bench clean

all: build

build:
	$(CARGO) build --release --workspace --all-targets

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

rust-test:
	$(CARGO) test --workspace

test: lint rust-test

demo: build
	@echo "== calls demo: the Rust example against a local calls-sim"
	scripts/with-sim.sh --calls 5000 --seed 7 -- \
	  $(RELEASE_DIR)/examples/list_calls --days 60 --direction outbound --limit 15

bench: build
	$(CARGO) build --release -p calls-sim
	$(CARGO) run --release -p calls-core --example bench

clean:
	$(CARGO) clean
