#  sheaf — top-level Makefile
#
#  One pkg-config Makefile for the whole tree. Every C file under common/ goes
#  into libsheaf (static and shared); each daemon and the CLI link the static
#  library. `make SANITIZE=address,undefined` builds into build-san/ so the
#  plain and the sanitized trees never mix.
#
#  Layers: common/ is libsheaf, the client library; internal/ holds what the
#  programs share outside it (flag parsing); broker/, worker/, scheduler/
#  and cli/ each hold one program's classes and its main.c. Every directory's
#  classes (all but main.c) also go into an archive of their own,
#  $(BUILD)/obj/DIR.a, and a test links the archive of the layer it tests
#  and nothing else, so a class that reaches into a layer it must not know
#  fails to link. Sources are found by wildcard: a new file in any of these
#  directories is built, archived and linked without an edit here.

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
INTERNAL_SRC:= $(sort $(wildcard internal/*.c))
BROKER_SRC  := $(sort $(wildcard broker/*.c))
WORKER_SRC  := $(sort $(wildcard worker/*.c worker/analyzers/*.c))
SCHEDULER_SRC := $(sort $(wildcard scheduler/*.c))
CLI_SRC     := $(sort $(wildcard cli/*.c))
CHECK_SRC   := $(sort $(wildcard tests/check_*.c))
SUPPORT_SRC := $(sort $(wildcard tests/support/*.c))
EXAMPLE_SRC := $(sort $(filter-out examples/plugin_%.c,$(wildcard examples/*.c)))
PLUGIN_SRC  := $(sort $(wildcard examples/plugin_*.c tests/plugins/*.c))
BENCH_SRC   := $(sort $(wildcard bench/*.c))
FUZZ_SRC    := $(sort $(wildcard tests/fuzz/fuzz_*.c))
HEADERS     := $(wildcard */*.h worker/analyzers/*.h tests/support/*.h)

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

LIB_A   := $(BUILD)/lib/libsheaf.a
LIB_SO  := $(BUILD)/lib/libsheaf.so
BINS    := $(BUILD)/bin/sheaf-broker $(BUILD)/bin/sheaf-worker $(BUILD)/bin/sheaf-scheduler \
           $(BUILD)/bin/sheaf
TESTS   := $(patsubst tests/%.c,$(BUILD)/tests/%,$(CHECK_SRC))
EXAMPLES:= $(patsubst examples/%.c,$(BUILD)/examples/%,$(EXAMPLE_SRC))
PLUGINS := $(patsubst %.c,$(BUILD)/%.so,$(PLUGIN_SRC))
BENCHES := $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRC))
FUZZ_RUN:= $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRC))
LIBFUZZ := $(patsubst tests/fuzz/%.c,$(BUILD)/libfuzzer/%,$(FUZZ_SRC))

.PHONY: all check check-san install deps demo bench fuzz clean FORCE
.SECONDARY:

all: $(LIB_A) $(LIB_SO) $(BUILD)/lib/libsheaf.so.0 $(BUILD)/lib/pkgconfig/sheaf.pc $(BINS) \
     $(EXAMPLES) $(PLUGINS) $(BENCHES)

#  --------------------------------------------------------------------------
#  Layers

#  The classes of each directory: every file but its program's main.c.
CLASSES_common    := $(COMMON_SRC)
CLASSES_internal  := $(INTERNAL_SRC)
CLASSES_broker    := $(filter-out broker/main.c,$(BROKER_SRC))
CLASSES_worker    := $(filter-out worker/main.c,$(WORKER_SRC))
CLASSES_scheduler := $(filter-out scheduler/main.c,$(SCHEDULER_SRC))
CLASSES_cli       := $(filter-out cli/main.c,$(CLI_SRC))
#  Test support, an archive so that a test takes only the helpers it calls
#  (the in-process broker needs the broker's layer; fleets need libsheaf).
CLASSES_support   := $(SUPPORT_SRC)
ARCHIVES := $(foreach dir,internal broker worker scheduler cli support,$(BUILD)/obj/$(dir).a)

#  A layer: the directories whose classes it links (besides libsheaf). The
#  CLI's classes use the scheduler's (`sheaf schedule` reads schedule files
#  and checkpoints) and flag parsing.
LAYER_broker    := broker
LAYER_worker    := worker
LAYER_scheduler := scheduler
LAYER_cli       := cli scheduler internal

#  The layers a test suite, fuzz target or benchmark links. By default a
#  check_sf_X suite, a fuzz_X target and a benchmark X exercise the class
#  in sf_X.c and link the layer of the directory that holds it, found by
#  wildcard; a class in common/ (or no class of that name, as for the
#  process-level check_fleet_* suites, which start the real binaries) means
#  libsheaf alone. The table below names the exceptions, by the path of
#  the source without .c.
#  Every analyzer, run against reference data:
LAYERS_tests/check_indicators := worker
LAYERS_tests/check_indicators2 := worker
LAYERS_tests/check_indicators3 := worker
#  The broker over a journal whose writes fail (in process):
LAYERS_tests/check_sf_broker_faults := broker
#  Every indicator's kernel against its step form:
LAYERS_tests/check_kernels := worker
#  Writes a journal with the broker's store, then starts a broker on it:
LAYERS_tests/check_fleet_journal := broker
#  Runs the analyzers in-process:
LAYERS_bench/indicators := worker
#  The data sources and the cache, in process:
LAYERS_bench/datapath := worker
#  The change notices of PostgreSQL's trigger (sf_source):
LAYERS_tests/fuzz/fuzz_change := worker

LAYER_DIRS  := broker worker scheduler cli
class_name   = $(patsubst fuzz_%,%,$(patsubst check_sf_%,%,$(notdir $(1))))
class_layer  = $(patsubst %/,%,$(dir $(firstword $(wildcard \
                   $(patsubst %,%/sf_$(call class_name,$(1)).c,$(LAYER_DIRS))))))
layers       = $(if $(filter undefined,$(origin LAYERS_$(1))),$(call class_layer,$(1)),$(LAYERS_$(1)))
layer_dirs   = $(foreach layer,$(call layers,$(1)),$(LAYER_$(layer)))
layer_archives = $(patsubst %,$(BUILD)/obj/%.a,$(call layer_dirs,$(1)))
layer_sources  = $(foreach dir,$(call layer_dirs,$(1)),$(CLASSES_$(dir)))

#  --------------------------------------------------------------------------
#  Objects and libraries

#  common/ is the library: it sees its own headers only, and exports only
#  what sheaf.h declares (-fvisibility=hidden; the header's pragma marks
#  its declarations default). The other directories see each other's
#  headers; what they may call is decided at link time (the layers above).
$(BUILD)/obj/%.o: INCLUDES := -Iinternal -Iworker -Ibroker -Ischeduler -Itests/support
$(BUILD)/obj/common/%.o: INCLUDES :=
$(BUILD)/obj/common/%.o: VISIBILITY := -fvisibility=hidden

#  Objects depend on this Makefile too: a change of flags (visibility,
#  include paths) rebuilds them.
$(BUILD)/obj/%.o: %.c Makefile
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(VISIBILITY) $(INCLUDES) -MMD -MP -c $< -o $@

#  The indicator kernels never read errno: without -fmath-errno the compiler
#  vectorises sqrt (sqrtpd) instead of a scalar sqrt with a branch to set
#  errno. No result changes (unlike -ffast-math, which is not used).
$(BUILD)/obj/worker/analyzers/%.o $(BUILD)/obj/worker/sf_series.o: override CFLAGS += -fno-math-errno

.SECONDEXPANSION:

#  Each archive's list of members, rewritten only when it changes, so that
#  an archive is made again when a file is removed or renamed, not only
#  when a member is newer than it.
$(BUILD)/obj/%.members: FORCE
	@mkdir -p $(dir $@)
	@echo '$(CLASSES_$*)' | cmp -s - $@ || echo '$(CLASSES_$*)' > $@

$(ARCHIVES): $(BUILD)/obj/%.a: $$(call obj,$$(CLASSES_$$*)) $(BUILD)/obj/%.members
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $(filter %.o,$^)

$(LIB_A): $(call obj,$(COMMON_SRC)) $(BUILD)/obj/common.members
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $(filter %.o,$^)

#  Visibility rather than a version script listing every function: the
#  export is decided where the function is declared, once for all of
#  sheaf.h. The version script (common/libsheaf.map) only keeps local the
#  candle functions, which the worker exports to its plugins from the same
#  objects. -z defs: the library must link on its own, so a call from
#  common/ into a program's classes fails here.
$(LIB_SO): $(call obj,$(COMMON_SRC)) common/libsheaf.map
	@mkdir -p $(dir $@)
	$(CC) -shared -Wl,-soname,libsheaf.so.0 -Wl,--version-script,common/libsheaf.map \
	    -Wl,-z,defs $(LDFLAGS) -o $@ $(filter %.o,$^) $(LIBS)

#  The name programs linked with libsheaf.so ask for (its soname).
$(BUILD)/lib/libsheaf.so.0: $(LIB_SO)
	ln -sf libsheaf.so $@

$(BUILD)/lib/pkgconfig/sheaf.pc: common/sheaf.pc.in Makefile
	@mkdir -p $(dir $@)
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@PKGS@|$(PKGS)|g' $< > $@

#  --------------------------------------------------------------------------
#  Programs: each links its own objects, internal/ (flag parsing) and the
#  static libsheaf.

$(BUILD)/bin/sheaf-broker: $(call obj,$(BROKER_SRC)) $(BUILD)/obj/internal.a $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

#  -rdynamic: plugins call the sf_actx_* functions of the worker and the
#  sf_candles_* functions of libsheaf.a, which the worker exports.
$(BUILD)/bin/sheaf-worker: $(call obj,$(WORKER_SRC)) $(BUILD)/obj/internal.a $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -rdynamic -o $@ $^ $(LIBS) -ldl

#  Analyzer plugins (examples/plugin_*.c, tests/plugins/*.c): shared
#  libraries whose sheaf symbols resolve against the worker at load time.
$(BUILD)/%.so: %.c worker/sheaf_analyzer.h common/sf_candles.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Iworker -shared $(LDFLAGS) -o $@ $<

$(BUILD)/bin/sheaf-scheduler: $(call obj,$(SCHEDULER_SRC)) $(BUILD)/obj/internal.a $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

#  The CLI links the scheduler's archive, from which `sheaf schedule` takes
#  the classes it uses (sf_schedule, sf_cron, sf_checkpoint) and nothing
#  else.
$(BUILD)/bin/sheaf: $(call obj,$(CLI_SRC)) $(BUILD)/obj/scheduler.a $(BUILD)/obj/internal.a \
                    $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

#  Examples are client programs built as a user builds them: sheaf.h and
#  libsheaf.so alone (found through the rpath), so an example that needs
#  more than the public API fails to link.
$(BUILD)/examples/%: $(BUILD)/obj/examples/%.o $(LIB_SO) $(BUILD)/lib/libsheaf.so.0
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< -L$(BUILD)/lib -lsheaf -Wl,-rpath,'$$ORIGIN/../lib'

#  --------------------------------------------------------------------------
#  Tests, fuzz targets, benchmarks: each links its layers (above), the test
#  support and the static libsheaf.

$(BUILD)/tests/%: $(BUILD)/obj/tests/%.o $(BUILD)/obj/support.a \
                  $$(call layer_archives,tests/$$*) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(CHECKLIBS) $(LIBS)

$(BUILD)/bench/%: $(BUILD)/obj/bench/%.o $$(call layer_archives,bench/$$*) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

#  Fuzz targets: under `make check` each runs as a plain program over its seed
#  corpus plus deterministic mutations (tests/fuzz/driver.c); `make fuzz` builds
#  them with clang's libFuzzer for open-ended fuzzing, from the sources of
#  libsheaf and of the target's layer.
$(BUILD)/fuzz/%: $(BUILD)/obj/tests/fuzz/%.o $(BUILD)/obj/tests/fuzz/driver.o \
                 $(BUILD)/obj/support.a $$(call layer_archives,tests/fuzz/$$*) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

fuzz: $(LIBFUZZ)

#  The in-process broker of fuzz_broker is test support that needs the broker.
LIBFUZZ_EXTRA_fuzz_broker := tests/support/inbroker.c

$(BUILD)/libfuzzer/%: tests/fuzz/%.c $(COMMON_SRC) $$(call layer_sources,tests/fuzz/$$*) \
                      $$(LIBFUZZ_EXTRA_$$*) $(HEADERS)
	@mkdir -p $(dir $@)
	clang -std=c11 -D_GNU_SOURCE -g -O1 -Icommon -Iinternal -Ibroker -Iworker -Ischeduler \
	    -Itests/support -fsanitize=fuzzer,address,undefined $(shell pkg-config --cflags $(PKGS)) \
	    $(filter %.c,$^) -o $@ $(LIBS)

#  The exported symbols of libsheaf.so against the declarations of sheaf.h.
check: all $(TESTS) $(FUZZ_RUN)
	SHEAF_BUILD=$(BUILD) tests/run tests/check_exports $(TESTS) $(FUZZ_RUN)

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
