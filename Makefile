#  sheaf — top-level Makefile
#
#  One pkg-config Makefile for the whole tree. Every C file under common/ goes
#  into libsheaf (static and shared); each daemon and the CLI link the static
#  library. `make SANITIZE=address,undefined` builds into build-san/ so the
#  plain and the sanitized trees never mix.

PREFIX   ?= /usr/local
PKGS     := libczmq libzmq msgpack jansson libpq zlib
SANITIZE ?=

ifeq ($(SANITIZE),)
BUILD    ?= build
OPT      := -O2
else
BUILD    ?= build-san
OPT      := -O1 -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
SANLD    := -fsanitize=$(SANITIZE)
endif

CC       ?= cc
CFLAGS   ?= -g
override CFLAGS += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror $(OPT) -fPIC \
            -Icommon $(shell pkg-config --cflags $(PKGS))
LIBS     := $(shell pkg-config --libs $(PKGS)) -lpthread -lm
CHECKLIBS:= $(shell pkg-config --libs check 2>/dev/null)
override LDFLAGS += $(SANLD)

COMMON_SRC  := $(sort $(wildcard common/*.c))
BROKER_SRC  := $(sort $(wildcard broker/*.c))
WORKER_SRC  := $(sort $(wildcard worker/*.c worker/analyzers/*.c))
SCHEDULER_SRC := $(sort $(wildcard scheduler/*.c))
CLI_SRC     := $(sort $(wildcard cli/*.c))
CHECK_SRC   := $(sort $(wildcard tests/check_*.c))
SUPPORT_SRC := $(sort $(wildcard tests/support/*.c))
EXAMPLE_SRC := $(sort $(filter-out examples/plugin_%.c,$(wildcard examples/*.c)))
PLUGIN_SRC  := $(sort $(wildcard examples/plugin_*.c tests/plugins/*.c))
BENCH_SRC   := $(sort $(wildcard bench/*.c))

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

LIB_A   := $(BUILD)/lib/libsheaf.a
LIB_SO  := $(BUILD)/lib/libsheaf.so
BINS    := $(BUILD)/bin/sheaf-broker $(BUILD)/bin/sheaf-worker $(BUILD)/bin/sheaf-scheduler \
           $(BUILD)/bin/sheaf
TESTS   := $(patsubst tests/%.c,$(BUILD)/tests/%,$(CHECK_SRC))
EXAMPLES:= $(patsubst examples/%.c,$(BUILD)/examples/%,$(EXAMPLE_SRC))
PLUGINS := $(patsubst %.c,$(BUILD)/%.so,$(PLUGIN_SRC))
BENCHES := $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRC))
FUZZ_SRC:= $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_RUN:= $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRC))

.PHONY: all check check-san install deps demo bench fuzz clean
.SECONDARY:

all: $(LIB_A) $(LIB_SO) $(BUILD)/lib/pkgconfig/sheaf.pc $(BINS) $(EXAMPLES) $(PLUGINS) $(BENCHES)

#  Unit and integration tests link the broker's, worker's and scheduler's classes too
#  (everything but their main.c), so a class is tested where it lives.
BROKER_LIB := $(call obj,$(filter-out broker/main.c,$(BROKER_SRC)))
WORKER_LIB := $(call obj,$(filter-out worker/main.c,$(WORKER_SRC)))
SCHEDULER_LIB := $(call obj,$(filter-out scheduler/main.c,$(SCHEDULER_SRC)))

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Iworker -Ibroker -Ischeduler -Itests/support -MMD -MP -c $< -o $@

$(LIB_A): $(call obj,$(COMMON_SRC))
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(LIB_SO): $(call obj,$(COMMON_SRC))
	@mkdir -p $(dir $@)
	$(CC) -shared -Wl,-soname,libsheaf.so.0 $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/lib/pkgconfig/sheaf.pc: common/sheaf.pc.in Makefile
	@mkdir -p $(dir $@)
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@PKGS@|$(PKGS)|g' $< > $@

$(BUILD)/bin/sheaf-broker: $(call obj,$(BROKER_SRC)) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

#  -rdynamic: plugins call the sf_actx_* and sf_candles_* functions the
#  worker exports.
$(BUILD)/bin/sheaf-worker: $(call obj,$(WORKER_SRC)) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -rdynamic -o $@ $^ $(LIBS) -ldl

#  Analyzer plugins (examples/plugin_*.c, tests/plugins/*.c): shared
#  libraries whose sheaf symbols resolve against the worker at load time.
$(BUILD)/%.so: %.c worker/sheaf_analyzer.h common/sf_candles.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Iworker -shared $(LDFLAGS) -o $@ $<

$(BUILD)/bin/sheaf-scheduler: $(call obj,$(SCHEDULER_SRC)) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/bin/sheaf: $(call obj,$(CLI_SRC)) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/examples/%: $(BUILD)/obj/examples/%.o $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

#  Benchmarks may measure the worker's analyzers in-process.
$(BUILD)/bench/%: $(BUILD)/obj/bench/%.o $(WORKER_LIB) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(filter %.a,$^) $(LIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/%.o $(call obj,$(SUPPORT_SRC)) $(BROKER_LIB) $(WORKER_LIB) \
                  $(SCHEDULER_LIB) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(CHECKLIBS) $(LIBS)

#  Fuzz targets: under `make check` each runs as a plain program over its seed
#  corpus plus deterministic mutations (tests/fuzz/driver.c); `make fuzz` builds
#  them with clang's libFuzzer for open-ended fuzzing. They link the worker's
#  classes too, for the decoders that live there (fuzz_state).
$(BUILD)/fuzz/%: $(BUILD)/obj/tests/fuzz/%.o $(BUILD)/obj/tests/fuzz/driver.o $(WORKER_LIB) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(filter %.a,$^) $(LIBS)

#  The journal is a broker class; its fuzz target and benchmark link it
#  (objects before the archive, hence the filters in their recipes).
$(BUILD)/fuzz/fuzz_journal $(BUILD)/bench/journal: $(call obj,broker/sf_journal.c)

#  The broker's fuzz target drives the whole broker in process.
$(BUILD)/fuzz/fuzz_broker: $(BROKER_LIB) $(call obj,tests/support/inbroker.c)

fuzz:
	@mkdir -p $(BUILD)/libfuzzer
	for f in $(FUZZ_SRC); do \
	  clang -std=c11 -D_GNU_SOURCE -g -O1 -Icommon -Ibroker -Iworker -Itests/support \
	    -fsanitize=fuzzer,address,undefined \
	    $(shell pkg-config --cflags $(PKGS)) $$f $(COMMON_SRC) \
	    $(filter-out broker/main.c,$(BROKER_SRC)) tests/support/inbroker.c \
	    $(filter-out worker/main.c,$(WORKER_SRC)) \
	    -o $(BUILD)/libfuzzer/$$(basename $$f .c) $(LIBS) || exit 1; done

check: all $(TESTS) $(FUZZ_RUN)
	SHEAF_BUILD=$(BUILD) tests/run $(TESTS) $(FUZZ_RUN)

#  The same suite built with AddressSanitizer and UBSan (LeakSanitizer
#  included) into build-san/.
check-san:
	$(MAKE) check SANITIZE=address,undefined

bench: all
	bench/run

demo: all
	SHEAF_BUILD=$(BUILD) examples/demo.sh

deps:
	deploy/debian-deps.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include
	install -m 755 $(BINS) $(DESTDIR)$(PREFIX)/bin/
	install -m 644 $(LIB_A) $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(LIB_SO) $(DESTDIR)$(PREFIX)/lib/libsheaf.so.0
	ln -sf libsheaf.so.0 $(DESTDIR)$(PREFIX)/lib/libsheaf.so
	install -m 644 common/sheaf.h worker/sheaf_analyzer.h common/sf_candles.h \
	    $(DESTDIR)$(PREFIX)/include/
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@PKGS@|$(PKGS)|g' common/sheaf.pc.in \
	    > $(DESTDIR)$(PREFIX)/lib/pkgconfig/sheaf.pc

clean:
	rm -rf build build-san

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
