# stampede - one non-recursive Makefile. Each configuration builds in its own
# directory (build/, build/asan, build/fuzz) so a sanitizer build never links
# stale objects. `make V=1` shows commands.

PKGS     := liburing openssl libfyaml zlib
# Debian 12's libwslay-dev ships no .pc file
WSLAY    := $(shell pkg-config --libs libwslay 2>/dev/null || echo -lwslay)
CC       ?= cc
CFLAGS   ?= -O2 -g
WARN     := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wvla
CPPFLAGS += -D_GNU_SOURCE -Iinclude $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS   += $(shell pkg-config --libs $(PKGS) 2>/dev/null) $(WSLAY) -lpthread -lm
VERSION  := $(shell git describe --always --dirty 2>/dev/null || echo unknown)
PREFIX   ?= /usr/local

ifeq ($(SANITIZE),1)
  BUILD   := build/asan
  CFLAGS  += -O1 -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
  LDFLAGS += -fsanitize=address,undefined
endif
ifeq ($(WERROR),1)
  WARN    += -Werror
endif
BUILD    ?= build
Q        := $(if $(V),,@)

OBJS     := $(patsubst src/%.c,$(BUILD)/%.o,$(wildcard src/*.c))
# the HTML report's page, src/report.html, compiled in as a C string
OBJS     += $(BUILD)/gen/html_template.o
LIBOBJS  := $(filter-out $(BUILD)/main.o,$(OBJS))
TGTOBJS  := $(patsubst tools/stampede-target/%.c,$(BUILD)/target/%.o,$(wildcard tools/stampede-target/*.c))
UNITS    := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(wildcard tests/unit/test_*.c))
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
REPLAYS  := $(patsubst tests/fuzz/fuzz_%.c,$(BUILD)/tests/replay_%,$(FUZZ_SRC))

.PHONY: all unit test check fuzz fuzzers deps deps-test demo bench install clean
all: $(BUILD)/stampede $(BUILD)/stampede-target

$(BUILD)/stampede: $(OBJS) $(BUILD)/version.o
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/stampede-target: $(TGTOBJS) $(LIBOBJS) $(BUILD)/version.o
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/%.o: src/%.c
	$(Q)mkdir -p $(@D) && $(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -MMD -MP -c -o $@ $<

$(BUILD)/target/%.o: tools/stampede-target/%.c
	$(Q)mkdir -p $(@D) && $(CC) $(CPPFLAGS) -Itools/stampede-target $(CFLAGS) $(WARN) -MMD -MP -c -o $@ $<

# src/report.html -> a C string (sed only: xxd and python3 may be missing);
# '?' is escaped so no trigraph can form
$(BUILD)/gen/html_template.c: src/report.html
	$(Q)mkdir -p $(@D) && { echo '/* generated from src/report.html; do not edit */'; \
	  echo 'extern const char html_template[];'; echo 'const char html_template[] ='; \
	  sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/?/\\?/g' -e 's/^/"/' -e 's/$$/\\n"/' $<; \
	  echo ';'; } >$@.tmp && mv $@.tmp $@

$(BUILD)/gen/html_template.o: $(BUILD)/gen/html_template.c
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

# the version string changes with every commit; only this object is rebuilt
$(BUILD)/version.o: FORCE
	$(Q)mkdir -p $(@D) && echo 'const char stampede_version[] = "$(VERSION)";' | \
	  $(CC) $(CFLAGS) -x c -c -o $@ -
FORCE:

unit: $(UNITS) $(REPLAYS)

$(BUILD)/tests/test_%: tests/unit/test_%.c $(LIBOBJS) $(BUILD)/version.o
	$(Q)mkdir -p $(@D) && $(CC) $(CPPFLAGS) -Itests $(CFLAGS) $(WARN) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# fuzz drivers also build as plain programs that replay their corpus
$(BUILD)/tests/replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c $(LIBOBJS) $(BUILD)/version.o
	$(Q)mkdir -p $(@D) && $(CC) $(CPPFLAGS) -Itests $(CFLAGS) $(WARN) $(LDFLAGS) -o $@ $^ $(LDLIBS)

deps:
	$(Q)tools/deps.sh build
deps-test:
	$(Q)tools/deps.sh test

test: deps-test
	$(Q)$(MAKE) --no-print-directory all unit
	$(Q)tests/run.sh $(BUILD)

check:
	$(Q)$(MAKE) --no-print-directory SANITIZE=1 test

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)tools/demo.sh $(BUILD)

bench: all
	$(Q)tools/bench/wrk-vs-stampede.py --build $(BUILD)

# libFuzzer builds: make fuzz [FUZZ_SECONDS=60]
FUZZ_SECONDS ?= 30
fuzz:
	$(Q)$(MAKE) --no-print-directory CC=clang BUILD=build/fuzz \
	  CFLAGS="-O1 -g -fsanitize=fuzzer-no-link,address,undefined" fuzzers
	$(Q)for f in build/fuzz/fuzz_*; do \
	  n=$${f##*/fuzz_}; mkdir -p build/fuzz/corpus-$$n; \
	  $$f -max_total_time=$(FUZZ_SECONDS) build/fuzz/corpus-$$n tests/fuzz/corpus/$$n || exit 1; done

fuzzers: $(patsubst tests/fuzz/%.c,$(BUILD)/%,$(FUZZ_SRC))
$(BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $(LIBOBJS) $(BUILD)/version.o
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -fsanitize=fuzzer,address,undefined -o $@ $^ $(LDLIBS)

install: all
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 755 $(BUILD)/stampede $(BUILD)/stampede-target $(DESTDIR)$(PREFIX)/bin/

clean:
	rm -rf build

-include $(OBJS:.o=.d) $(TGTOBJS:.o=.d)
