# branchq: build, run and test the branch queue daemon.
#
#   make run     install what is missing, build, start branchqd on the demo config
#   make check   install what is missing, build with sanitizers, run every test
#   make bench   measure speed and memory
#   make install install under PREFIX (/usr/local) and DESTDIR; make uninstall
#   make deb     build the Debian package in build/deb (make check-deb: try it here)
#
# Two builds live side by side: build/release (optimised, for run and bench)
# and build/san (AddressSanitizer + UBSan, for every test).

CC      ?= cc
PKGS    := libmicrohttpd sqlite3 jansson inih libqrencode cairo fontconfig libsodium
# sd_notify: readiness, reload and the watchdog under systemd (branchqd.c).
PKGS    += libsystemd
# The uplink to the head office's PostgreSQL (uplink.c).
PKGS    += libpq
CFLAGS_COMMON := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wvla \
	-Wformat=2 -Wstrict-prototypes -Wmissing-prototypes -g -Idaemon -Iprinter
# libcups2-dev ships no cups.pc: cups-config gives its flags.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null) $(shell cups-config --cflags 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null) $(shell cups-config --libs 2>/dev/null) \
	-lm -pthread

RELEASE_CFLAGS := $(CFLAGS_COMMON) -O2
# The Debian package's hardening flags (dpkg-buildflags, passed by debian/rules).
RELEASE_CFLAGS += $(EXTRA_CFLAGS)
SAN_FLAGS      := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
SAN_CFLAGS     := $(CFLAGS_COMMON) -O1 $(SAN_FLAGS)

# Debian packages: to build, to test. `make deps` installs the missing ones.
# The voice (espeak-ng) and the CJK font are needed at run time too.
DEBS_BUILD := gcc make pkg-config libc6-dev tzdata libmicrohttpd-dev libsqlite3-dev libjansson-dev libsodium-dev \
	libinih-dev libqrencode-dev libcups2-dev libcairo2-dev fonts-noto-cjk espeak-ng
DEBS_BUILD += libsystemd-dev libpq-dev
# A private cupsd and the printer emulator, QR decoding, sound checks, the browser;
# openssl makes the TLS tests' certificates, faketime moves the daemon's wall clock,
# promtool (prometheus) checks /metrics and the alert rules.
DEBS_TEST  := libcmocka-dev python3 sqlite3 clang libclang-rt-14-dev cppcheck openssl \
	cups cups-client cups-bsd zbar-tools sox poppler-utils chromium faketime prometheus
# systemd-analyze checks the unit (tests/integration/test_systemd.py).
DEBS_TEST  += systemd
# A private PostgreSQL for the head office's tests (tests/integration/pg.py).
DEBS_TEST  += postgresql
# The load generator for make bench (python3 runs the rest of it).
DEBS_BENCH := wrk python3 postgresql

# All of daemon/ but main, and printer/, make the library the tests link too.
DAEMON_SRC  := $(filter-out daemon/branchqd.c,$(wildcard daemon/*.c)) $(wildcard printer/*.c)
UNIT_SRC    := $(wildcard tests/unit/test_*.c)

REL_OBJ := $(patsubst %.c,build/release/%.o,$(notdir $(DAEMON_SRC)))
SAN_OBJ := $(patsubst %.c,build/san/%.o,$(notdir $(DAEMON_SRC)))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=build/san/tests/%)

CONFIG ?= config/branchq.conf

.PHONY: all run check bench fuzz deps deps-test clean install uninstall deb check-deb
.DEFAULT_GOAL := all

all: build/release/branchqd

# Install the Debian packages that are missing (as root), or say how.
define install_debs
	@missing=$$(for p in $(1); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
		grep -q 'ok installed' || echo $$p; done | tr '\n' ' '); \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "branchq: installing $$missing"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null || exit 1; \
		else \
			echo "branchq: missing packages; as root run: apt-get install -y $$missing"; exit 1; \
		fi; \
	fi
endef

deps:
	$(call install_debs,$(DEBS_BUILD))

# Node.js and npm: the machine's own when it has them (a Node.js from elsewhere
# bundles npm, and Debian's npm would conflict with it), else Debian's.
deps-test: deps
	$(call install_debs,$(DEBS_TEST))
	@command -v npm >/dev/null || { echo "branchq: installing nodejs npm"; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; }
	@$(MAKE) --no-print-directory tests/e2e/node_modules/.package-lock.json

# playwright-core drives Debian's chromium; it downloads no browser of its own.
tests/e2e/node_modules/.package-lock.json: tests/e2e/package.json tests/e2e/package-lock.json
	cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error

build/release/%.o: daemon/%.c daemon/*.h | build/release
	$(CC) $(RELEASE_CFLAGS) $(PKG_CFLAGS) -c $< -o $@

build/san/%.o: daemon/%.c daemon/*.h | build/san
	$(CC) $(SAN_CFLAGS) $(PKG_CFLAGS) -c $< -o $@

build/release/%.o: printer/%.c $(wildcard printer/*.h) daemon/*.h | build/release
	$(CC) $(RELEASE_CFLAGS) $(PKG_CFLAGS) -c $< -o $@

build/san/%.o: printer/%.c $(wildcard printer/*.h) daemon/*.h | build/san
	$(CC) $(SAN_CFLAGS) $(PKG_CFLAGS) -c $< -o $@

build/release/libbranchq.a: $(REL_OBJ)
	rm -f $@ && ar rcs $@ $^

build/san/libbranchq.a: $(SAN_OBJ)
	rm -f $@ && ar rcs $@ $^

build/release/branchqd: daemon/branchqd.c build/release/libbranchq.a
	$(CC) $(RELEASE_CFLAGS) $(PKG_CFLAGS) $< build/release/libbranchq.a $(PKG_LIBS) -o $@

build/san/branchqd: daemon/branchqd.c build/san/libbranchq.a
	$(CC) $(SAN_CFLAGS) $(PKG_CFLAGS) $< build/san/libbranchq.a $(PKG_LIBS) -o $@

build/san/tests/%: tests/unit/%.c tests/unit/*.h build/san/libbranchq.a | build/san/tests
	$(CC) $(SAN_CFLAGS) $(PKG_CFLAGS) $< build/san/libbranchq.a $(PKG_LIBS) -lcmocka -o $@

build/release build/san build/san/tests:
	mkdir -p $@

# make run LISTEN=0.0.0.0:8080 DB=var/other.db: the daemon's --listen and --db.
RUN_OPTS = $(if $(LISTEN),--listen $(LISTEN)) $(if $(DB),--db $(DB))

run: deps build/release/branchqd
	@mkdir -p var
	@# What the daemon will use, from the config and the overrides (branchqd -n says it).
	@build/release/branchqd -n -f $(CONFIG) $(RUN_OPTS) >var/run.where || { cat var/run.where; exit 1; }
	@u=$$(awk '$$1=="url"{print $$2}' var/run.where); \
		echo "branchq: starting on $(CONFIG); database $$(awk '$$1=="database"{print $$2}' var/run.where)"; \
		for p in display lobby kiosk reports signin healthz metrics; do printf '  %-9s %s/%s\n' $$p: $$u $$p; done; \
		for n in $$(awk '$$1=="counters"{$$1=""; print}' var/run.where); do \
			printf '  %-9s %s/counter/%s\n' counter: $$u $$n; done; \
		printf '  %-9s %s/api/v1/ (docs/api.md)\n' api: $$u; \
		pub=$$(awk '$$1=="public_url"{print $$2}' var/run.where); \
		case "$$(awk '$$1=="public_url_reachable"{$$1=""; print}' var/run.where)" in \
		*yes*) echo "  phones open the tickets' QR codes at $$pub";; \
		*) echo "  the tickets' QR codes point at $$pub, which only this machine can open: for"; \
		   echo "  phones, run make run LISTEN=0.0.0.0:8080 and set public_url = http://<this"; \
		   echo "  machine's LAN address>:8080 in [branch] of $(CONFIG)";; esac
	@# The demo only: one account per role, with fresh random passwords at every run.
	@echo "branchq: demo accounts (new passwords every run; a real branch starts with none):"
	@for acct in lobby:lobby teller:teller head:head admin:admin; do \
		name=demo-$${acct%%:*}; role=$${acct##*:}; \
		pw=$$(head -c 18 /dev/urandom | base64 | tr -dc A-Za-z0-9 | head -c 12); \
		if build/release/branchqd user list -f $(CONFIG) $(if $(DB),--db $(DB)) 2>/dev/null | grep -q "^$$name "; then \
			printf '%s\n' "$$pw" | build/release/branchqd user passwd $$name -f $(CONFIG) $(if $(DB),--db $(DB)) >/dev/null; \
			build/release/branchqd user enable $$name -f $(CONFIG) $(if $(DB),--db $(DB)) >/dev/null; \
		else \
			printf '%s\n' "$$pw" | build/release/branchqd user add $$name --role $$role -f $(CONFIG) $(if $(DB),--db $(DB)) >/dev/null; \
		fi; \
		printf '  %-8s %-12s password %s%s\n' $$role $$name "$$pw" \
			"$$( [ $$role = teller ] && echo '   (choose a counter when signing in)')"; \
	done
	@tok=$$(build/release/branchqd token add --role kiosk --name demo-kiosk -f $(CONFIG) $(if $(DB),--db $(DB)) | awk '{print $$NF}'); \
		echo "  kiosk pairing URL (open it once on the kiosk): $$(awk '$$1=="url"{print $$2}' var/run.where)/pair?token=$$tok"
	exec build/release/branchqd -d -f $(CONFIG) $(RUN_OPTS)

check: deps-test
	@$(MAKE) --no-print-directory build/san/branchqd $(UNIT_BIN) $(FUZZ_BIN)
	@tests/run

# libFuzzer targets for every parser of outside input. make check runs each
# briefly over its corpus as a regression; make fuzz runs them for longer.
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=build/fuzz/%)
FUZZ_SECONDS ?= 60
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -g -O1 -Idaemon -Iprinter -fsanitize=fuzzer,address,undefined

build/fuzz/%: tests/fuzz/%.c tests/fuzz/*.h $(DAEMON_SRC) daemon/*.h | build/fuzz
	clang $(FUZZ_CFLAGS) $(PKG_CFLAGS) $< $(DAEMON_SRC) $(PKG_LIBS) -o $@

build/fuzz:
	mkdir -p $@

fuzz: deps-test $(FUZZ_BIN)
	@for f in $(FUZZ_BIN); do mkdir -p build/fuzz/corpus/$$(basename $$f); \
		echo "fuzzing $$f for $(FUZZ_SECONDS) s"; \
		UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		$$f -max_total_time=$(FUZZ_SECONDS) build/fuzz/corpus/$$(basename $$f) tests/fuzz/seeds || exit 1; done

# The print path's cost on the loop, measured apart from HTTP.
build/release/bench_printer: tests/bench/bench_printer.c build/release/libbranchq.a
	$(CC) $(RELEASE_CFLAGS) $(PKG_CFLAGS) $< build/release/libbranchq.a $(PKG_LIBS) -o $@

# What each queue operation costs the loop at 10 and at 10,000 waiting.
build/release/bench_ops: tests/bench/bench_ops.c build/release/libbranchq.a
	$(CC) $(RELEASE_CFLAGS) $(PKG_CFLAGS) $< build/release/libbranchq.a $(PKG_LIBS) -o $@

# The bare servers branchqd is measured against, and the slow disk: a SQLite
# VFS preloaded into a server by the bench, whose every sync sleeps.
build/release/bench_baseline: tests/bench/bench_baseline.c | build/release
	$(CC) $(RELEASE_CFLAGS) $(PKG_CFLAGS) $< -lmicrohttpd -lsqlite3 -o $@

# The client that times one event's way to the last of N streams.
build/release/bench_fanout: tests/bench/bench_fanout.c | build/release
	$(CC) $(RELEASE_CFLAGS) $< -o $@

build/release/slowsync.so: tests/bench/slowsync.c | build/release
	$(CC) $(RELEASE_CFLAGS) -fPIC -shared $< -lsqlite3 -o $@

bench: deps
	$(call install_debs,$(DEBS_BENCH))
	@$(MAKE) --no-print-directory build/release/branchqd build/release/bench_printer \
		build/release/bench_ops build/release/bench_baseline build/release/bench_fanout \
		build/release/slowsync.so
	@tests/bench/run

clean:
	rm -rf build

# --------------------------------------------------------------------------
# Installing (docs/operator.md). PREFIX and DESTDIR as usual; the daemon
# installed is INSTALL_BIN (the release build unless told). The example
# config goes to the docs, with its database in the unit's state directory
# and its pages where they are installed; the unit runs SBINDIR/branchqd.
PREFIX      ?= /usr/local
SBINDIR     ?= $(PREFIX)/sbin
DATADIR     ?= $(PREFIX)/share
MANDIR      ?= $(DATADIR)/man
DOCDIR      ?= $(DATADIR)/doc/branchq
UNITDIR     ?= $(PREFIX)/lib/systemd/system
PAGESDIR    := $(DATADIR)/branchq/display
STATEDIR    := /var/lib/branchq
INSTALL_BIN ?= build/release/branchqd
PAGE_FILES  := $(filter-out display/README.md,$(wildcard display/*))
INSTALLED   := $(SBINDIR)/branchqd $(MANDIR)/man8/branchqd.8 $(MANDIR)/man5/branchq.conf.5 \
	$(DOCDIR)/examples/branchq.conf $(UNITDIR)/branchqd.service \
	$(UNITDIR)/branchqd-backup.service $(UNITDIR)/branchqd-backup.timer \
	$(addprefix $(PAGESDIR)/,$(notdir $(PAGE_FILES)))

install: $(INSTALL_BIN)
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(PAGESDIR) $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(DOCDIR)/examples $(DESTDIR)$(UNITDIR)
	install -m 0755 $(INSTALL_BIN) $(DESTDIR)$(SBINDIR)/branchqd
	install -m 0644 $(PAGE_FILES) $(DESTDIR)$(PAGESDIR)/
	install -m 0644 daemon/branchqd.8 $(DESTDIR)$(MANDIR)/man8/branchqd.8
	install -m 0644 daemon/branchq.conf.5 $(DESTDIR)$(MANDIR)/man5/branchq.conf.5
	sed -e 's#^database *=.*#database = $(STATEDIR)/branchq.db   ; the unit'"'"'s state directory; change needs a restart#' \
		-e 's#^pages *=.*#pages = $(PAGESDIR)   ; the installed pages#' \
		config/branchq.conf >$(DESTDIR)$(DOCDIR)/examples/branchq.conf
	chmod 0644 $(DESTDIR)$(DOCDIR)/examples/branchq.conf
	for u in branchqd.service branchqd-backup.service branchqd-backup.timer; do \
		sed -e 's#/usr/local/sbin/branchqd#$(SBINDIR)/branchqd#g' config/$$u \
			>$(DESTDIR)$(UNITDIR)/$$u && chmod 0644 $(DESTDIR)$(UNITDIR)/$$u || exit 1; done

# Removes what install put there, and its directories once they are empty.
uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED))
	@for d in $(DESTDIR)$(PAGESDIR) $(DESTDIR)$(DATADIR)/branchq $(DESTDIR)$(DOCDIR)/examples \
		$(DESTDIR)$(DOCDIR); do [ ! -d $$d ] || rmdir --ignore-fail-on-non-empty $$d; done

# The Debian package (debian/), built in a copy of the tree under build/deb
# so dpkg-buildpackage's output (it writes to ..) stays in build/deb.
DEBS_PKG := debhelper dpkg-dev lintian fakeroot
DEB_TREE := build/deb/branchq

deb: deps
	$(call install_debs,$(DEBS_PKG))
	rm -rf build/deb && mkdir -p $(DEB_TREE)
	tar -cf - --exclude=./build --exclude=./var --exclude=./.git \
		--exclude=node_modules . | tar -xf - -C $(DEB_TREE)
	cd $(DEB_TREE) && dpkg-buildpackage -b -us -uc
	lintian --fail-on error build/deb/branchq_*.deb

# Install the package on this machine (as root), check what it made and that
# the installed daemon serves, purge it and check nothing is left
# (docs/operator.md). Not in make check: it installs system-wide.
check-deb: deb
	$(call install_debs,systemd python3)
	tests/deb/check
