# The C ABI of calls: libcalls.a / libcalls.so, include/calls.h, the C and C++
# examples and the C-level tests. Included by the top-level Makefile; also
# usable alone from the repository root: make -f mk/ffi.mk c-test
#
#   ffi-build    cargo build --release -p calls-ffi (target/release/libcalls.{a,so})
#   header       regenerate include/calls.h (cbindgen, from crates/calls-ffi)
#   header-check fail when include/calls.h is stale
#   c-examples   build/ffi/{list_calls,export_csv,summary}
#   c-test       every C test: test_calls, test_resume, test_records,
#                test_tls (HTTPS against calls-sim --https, the CA file and
#                the builder setters) and the C++17 test_cpp
#                (include/calls.hpp), each plain, under
#                ASan+UBSan and under valgrind against calls-sim; the examples;
#                export_csv killed with -9 mid-export and resumed; header
#                compiles; install/pkg-config/link-line checks; the last line
#                is "N passed, N failed"
#   install      PREFIX=/usr/local DESTDIR= : lib/libcalls.a,
#                lib/libcalls.so.X.Y.Z with its SONAME and .so symlinks,
#                include/calls.h, include/calls.hpp, lib/pkgconfig/calls.pc,
#                lib/cmake/calls/callsConfig{,Version}.cmake (find_package(calls
#                CONFIG), targets calls::calls, calls::calls_shared,
#                calls::calls_static)
#   demo-c       the C examples against a local calls-sim

FFI_ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))..)
CARGO ?= cargo
CC ?= cc
CXX ?= c++
PREFIX ?= /usr/local
DESTDIR ?=

FFI_LIB_DIR := $(FFI_ROOT)/target/release
FFI_BUILD := $(FFI_ROOT)/build/ffi
FFI_STATICLIB := $(FFI_LIB_DIR)/libcalls.a
FFI_VERSION = $(shell sed -n 's/^version = "\(.*\)"/\1/p' $(FFI_ROOT)/Cargo.toml | head -n 1)
# The ELF SONAME crates/calls-ffi/build.rs gives libcalls.so: libcalls.so.0.<minor>
# before 1.0, libcalls.so.<major> after.
FFI_SONAME = libcalls.so.$(shell echo $(FFI_VERSION) | awk -F. '{ print ($$1 == 0) ? "0." $$2 : $$1 }')

# The native libraries the Rust staticlib needs on Linux, as rustc reports them
# (cargo rustc -p calls-ffi --release --crate-type staticlib -- --print
# native-static-libs); tests/check_install.sh fails when they drift.
CALLS_NATIVE_LIBS := -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc

FFI_SPACE := $(subst ,, )
FFI_WARN := -Wall -Wextra -Wpedantic -Werror
FFI_CFLAGS := -std=c99 $(FFI_WARN) -O2 -g -I$(FFI_ROOT)/include
FFI_CXXFLAGS := -std=c++17 $(FFI_WARN) -O2 -g -I$(FFI_ROOT)/include
FFI_SANITIZE := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FFI_LINK := $(FFI_STATICLIB) $(CALLS_NATIVE_LIBS)

.PHONY: ffi-build ffi-sim header header-check c-examples c-test-bins c-test install demo-c

ffi-build:
	cd $(FFI_ROOT) && $(CARGO) build --release -p calls-ffi

ffi-sim:
	cd $(FFI_ROOT) && $(CARGO) build --release -p calls-sim

header:
	cd $(FFI_ROOT) && CALLS_UPDATE_HEADER=1 $(CARGO) test -q -p calls-ffi --test header

header-check:
	cd $(FFI_ROOT) && $(CARGO) test -q -p calls-ffi --test header

c-examples: ffi-build
	@mkdir -p $(FFI_BUILD)
	$(CC) $(FFI_CFLAGS) $(FFI_ROOT)/examples-c/list_calls.c $(FFI_LINK) -o $(FFI_BUILD)/list_calls
	$(CC) $(FFI_CFLAGS) $(FFI_ROOT)/examples-c/export_csv.c $(FFI_LINK) -o $(FFI_BUILD)/export_csv
	$(CXX) $(FFI_CXXFLAGS) $(FFI_ROOT)/examples-c/summary.cpp $(FFI_LINK) -o $(FFI_BUILD)/summary
	$(CC) $(FFI_CFLAGS) $(FFI_ROOT)/examples-c/sync_sqlite.c -lsqlite3 $(FFI_LINK) -o $(FFI_BUILD)/sync_sqlite

c-test-bins: ffi-build
	@mkdir -p $(FFI_BUILD)
	$(CC) $(FFI_CFLAGS) -pthread $(FFI_ROOT)/tests/test_calls.c $(FFI_LINK) -o $(FFI_BUILD)/test_calls
	$(CC) $(FFI_CFLAGS) -O1 $(FFI_SANITIZE) -pthread $(FFI_ROOT)/tests/test_calls.c $(FFI_LINK) \
	  -o $(FFI_BUILD)/test_calls_asan
	$(CC) $(FFI_CFLAGS) $(FFI_ROOT)/tests/test_resume.c $(FFI_LINK) -o $(FFI_BUILD)/test_resume
	$(CC) $(FFI_CFLAGS) -O1 $(FFI_SANITIZE) $(FFI_ROOT)/tests/test_resume.c $(FFI_LINK) \
	  -o $(FFI_BUILD)/test_resume_asan
	$(CC) $(FFI_CFLAGS) -O1 $(FFI_SANITIZE) $(FFI_ROOT)/examples-c/export_csv.c $(FFI_LINK) \
	  -o $(FFI_BUILD)/export_csv_asan
	$(CC) $(FFI_CFLAGS) -O1 $(FFI_SANITIZE) $(FFI_ROOT)/examples-c/sync_sqlite.c -lsqlite3 $(FFI_LINK) \
	  -o $(FFI_BUILD)/sync_sqlite_asan
	$(CC) $(FFI_CFLAGS) $(FFI_ROOT)/tests/test_records.c $(FFI_LINK) -o $(FFI_BUILD)/test_records
	$(CC) $(FFI_CFLAGS) -O1 $(FFI_SANITIZE) $(FFI_ROOT)/tests/test_records.c $(FFI_LINK) \
	  -o $(FFI_BUILD)/test_records_asan
	$(CC) $(FFI_CFLAGS) $(FFI_ROOT)/tests/test_tls.c $(FFI_LINK) -o $(FFI_BUILD)/test_tls
	$(CC) $(FFI_CFLAGS) -O1 $(FFI_SANITIZE) $(FFI_ROOT)/tests/test_tls.c $(FFI_LINK) \
	  -o $(FFI_BUILD)/test_tls_asan
	$(CXX) $(FFI_CXXFLAGS) $(FFI_ROOT)/tests/test_cpp.cpp $(FFI_LINK) -o $(FFI_BUILD)/test_cpp
	$(CXX) $(FFI_CXXFLAGS) -O1 $(FFI_SANITIZE) $(FFI_ROOT)/tests/test_cpp.cpp $(FFI_LINK) \
	  -o $(FFI_BUILD)/test_cpp_asan

c-test: header-check c-examples c-test-bins ffi-sim
	cd $(FFI_ROOT) && CC="$(CC)" CXX="$(CXX)" CARGO="$(CARGO)" MAKE="$(MAKE)" \
	  CALLS_NATIVE_LIBS="$(CALLS_NATIVE_LIBS)" tests/run_c_tests.sh $(FFI_BUILD)

install: ffi-build
	install -d $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include
	install -m 644 $(FFI_LIB_DIR)/libcalls.a $(DESTDIR)$(PREFIX)/lib/libcalls.a
	install -m 755 $(FFI_LIB_DIR)/libcalls.so $(DESTDIR)$(PREFIX)/lib/libcalls.so.$(FFI_VERSION)
	ln -sf libcalls.so.$(FFI_VERSION) $(DESTDIR)$(PREFIX)/lib/$(FFI_SONAME)
	ln -sf $(FFI_SONAME) $(DESTDIR)$(PREFIX)/lib/libcalls.so
	install -m 644 $(FFI_ROOT)/include/calls.h $(DESTDIR)$(PREFIX)/include/calls.h
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(FFI_VERSION)|' \
	  -e 's|@NATIVE_LIBS@|$(CALLS_NATIVE_LIBS)|' $(FFI_ROOT)/crates/calls-ffi/calls.pc.in \
	  > $(DESTDIR)$(PREFIX)/lib/pkgconfig/calls.pc
	chmod 644 $(DESTDIR)$(PREFIX)/lib/pkgconfig/calls.pc
	install -d $(DESTDIR)$(PREFIX)/lib/cmake/calls
	install -m 644 $(FFI_ROOT)/include/calls.hpp $(DESTDIR)$(PREFIX)/include/calls.hpp
	for f in callsConfig callsConfigVersion; do \
	  sed -e 's|@VERSION@|$(FFI_VERSION)|g' -e 's|@SONAME@|$(FFI_SONAME)|g' \
	    -e 's|@NATIVE_LIBS@|$(CALLS_NATIVE_LIBS)|g' -e 's|@NATIVE_LIBS_LIST@|$(subst $(FFI_SPACE),;,$(strip $(CALLS_NATIVE_LIBS)))|g' \
	    $(FFI_ROOT)/cmake/$$f.cmake.in > $(DESTDIR)$(PREFIX)/lib/cmake/calls/$$f.cmake && \
	  chmod 644 $(DESTDIR)$(PREFIX)/lib/cmake/calls/$$f.cmake || exit 1; \
	done

demo-c: c-examples ffi-sim
	@mkdir -p $(FFI_ROOT)/build
	@echo "== calls demo (C): list_calls, export_csv, summary and sync_sqlite against a local calls-sim"
	cd $(FFI_ROOT) && scripts/with-sim.sh --calls 5000 --seed 7 -- sh -c '\
	  set -e; \
	  echo "-- list_calls --days 60 --direction outbound --bill-duration-gte 60 --rows 15  (calls_pager_next_call, calls_call_get, typed getters)"; \
	  build/ffi/list_calls --days 60 --direction outbound --bill-duration-gte 60 --rows 15; \
	  echo; echo "-- summary --days 60  (C++17: include/calls.hpp, range-for, typed accessors)"; \
	  build/ffi/summary --days 60; \
	  echo; echo "-- export_csv --days 60 --format ndjson --max 2  (calls_call_json)"; \
	  build/ffi/export_csv --days 60 --format ndjson --max 2; \
	  echo; echo "-- export_csv --days 60 > build/calls.csv"; \
	  build/ffi/export_csv --days 60 > build/calls.csv; \
	  echo "wrote $$(pwd)/build/calls.csv: $$(($$(wc -l < build/calls.csv) - 1)) rows (plus a header row)"'
	@echo
	cd $(FFI_ROOT) && scripts/with-sim.sh --calls 5000 --seed 7 -- scripts/demo-sync.sh
