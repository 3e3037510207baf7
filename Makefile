# calls: build, test, demo and benchmark from one place.
#   make demo    build everything, start calls-sim, run the C examples against it
#   make test    every test: lints, Rust (unit, property, integration against
#                calls-sim), the header drift check, the C tests (plain,
#                ASan+UBSan, valgrind), the examples and the install
#   make fuzz    the property tests and the fault soak, much longer
#   make bench   benchmarks against calls-sim (prints a markdown table)
#   make mutants mutation testing of the pure modules with the library's unit
#                tests (needs `cargo install cargo-mutants --locked`)
#   make header  regenerate include/calls.h;  make install PREFIX=... DESTDIR=...
CARGO ?= cargo
RELEASE_DIR := target/release

# The simulator listens on 127.0.0.1: never send that through a proxy.
comma := ,
export NO_PROXY := 127.0.0.1,localhost$(if $(NO_PROXY),$(comma)$(NO_PROXY))
export no_proxy := $(NO_PROXY)

.PHONY: all build test lint rust-test demo demo-rust fuzz bench bench-rate mutants clean

all: build

include mk/ffi.mk

build:
	$(CARGO) build --release --workspace --all-targets

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

rust-test:
	$(CARGO) test --workspace

test: lint rust-test c-test

demo: demo-c

# The Rust example against calls-sim.
demo-rust: build
	scripts/with-sim.sh --calls 5000 --seed 7 -- \
	  $(RELEASE_DIR)/examples/list_calls --days 60 --direction outbound --limit 15

PROPTEST_CASES ?= 20000
SOAK_RUNS ?= 100
fuzz:
	PROPTEST_CASES=$(PROPTEST_CASES) $(CARGO) test --release -p calls-core --test props
	PROPTEST_CASES=$(PROPTEST_CASES) $(CARGO) test --release -p calls-core --lib walk::
	SOAK_RUNS=$(SOAK_RUNS) $(CARGO) test --release -p calls-core --test soak -- --nocapture

bench: build
	$(CARGO) build --release -p calls-sim
	$(CARGO) run --release -p calls-core --example bench
	$(CARGO) run --release -p calls-core --example bench_rate
	$(CARGO) run --release -p calls-ffi --example bench_records

# Only the rate rows (issue 13): exports against calls-sim's 300-per-5-s limit.
bench-rate:
	$(CARGO) run --release -p calls-core --example bench_rate

# Every mutant of the pure modules must be caught by the library's unit tests
# (issue 18); the survivors cargo-mutants lists in mutants.out/missed.txt are
# either killed by a new test or named as equivalent. `--cargo-arg=--lib`
# (not `-- --lib`, which only reaches the test run) keeps each mutant's build
# to the library's unit tests: about 5 s a mutant instead of 30. The walk's
# property test runs PROPTEST_CASES cases (3,000 by default, `make fuzz` runs
# more): it is not what these mutants are about, and each mutant runs every
# unit test. Pass cargo-mutants options in MUTANTS_ARGS, e.g. "-j 2" or
# "--shard 1/4".
MUTANTS_FILES := query time retry ratelimit policy
MUTANTS_PROPTEST_CASES ?= 64
MUTANTS_ARGS ?=
mutants:
	PROPTEST_CASES=$(MUTANTS_PROPTEST_CASES) $(CARGO) mutants -p calls-core \
	  $(foreach f,$(MUTANTS_FILES),--file crates/calls-core/src/$(f).rs) \
	  --cargo-arg=--lib $(MUTANTS_ARGS)

clean:
	$(CARGO) clean
	rm -rf build
