# Thin wrapper over meson: `make run` shows a container, `make check` runs every suite.
# Needs root (containers) and Debian 12; missing build packages are installed with apt-get.

PYTHON   ?= /usr/bin/python3
PYTEST   ?= $(PYTHON) -m pytest
BUILD    ?= build
ASAN     ?= build-asan
FUZZ     ?= build-fuzz
FUZZTIME ?= 30
PYTEST_ARGS ?=

# What `make`, `make build` and `make run` need: compilers, meson, the libraries' headers, cmocka
# (the unit tests are part of the build), python3 (tools/mkimage) and busybox-static (the
# built-in busybox image).
BUILD_DEPS = meson ninja-build pkg-config gcc libjansson-dev libseccomp-dev libcap-dev \
             libarchive-dev libssl-dev libcurl4-openssl-dev libcmocka-dev python3 busybox-static
# What the tests run besides the build (`make check`, check-asan, bench): pytest, peers, clients,
# registry tools, the formatter, and the small tools that a minimal Debian may lack (ip, xz,
# bzip2, getcap, nsenter/unshare).
TEST_DEPS  = python3-pytest crun runc strace hyperfine docker-registry skopeo umoci apache2-utils \
             openssl zstd podman conmon containerd docker.io containernetworking-plugins iptables \
             criu iproute2 xz-utils bzip2 libcap2-bin util-linux clang-format
FUZZ_DEPS  = clang libclang-rt-14-dev

BERTH       = $(BUILD)/src/berth/berth
DEMO_CMD    = hostname; echo; ps; echo; cat /proc/self/mountinfo

.PHONY: all build deps deps-check deps-fuzz run check check-unit check-integration check-clients \
        check-asan bench fuzz clean help

all: build

help:
	@echo "make run          build, then run a busybox container that shows its isolation"
	@echo "make check        build, then the layer rules and formatting, unit tests (meson)"
	@echo "                  + integration and security tests (pytest)"
	@echo "                  + cgroup v2 tests in a QEMU guest (make check-vm)"
	@echo "make check-asan   the same suites against an ASan/UBSan build in $(ASAN)/"
	@echo "make bench        bench/startup: berth-oci vs crun vs runc"
	@echo "make fuzz         $(FUZZTIME) s each of the fuzzers of config.json, linux.resources,"
	@echo "                  manifests/configs/references, WWW-Authenticate, docker-archive manifest.json"
	@echo "                  and layer tars (the last one as root only; clang, $(FUZZ)/)"
	@echo "make deps         apt-get install the build packages that are missing (needs root)"
	@echo "make deps-check   the same for the test peers and tools (make check does it)"

# Install only what is missing, so that `make` on a ready machine stays offline and fast.
# $(call install_missing,PACKAGES)
define install_missing
@missing=""; for p in $(1); do \
    dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
done; \
if [ -n "$$missing" ]; then \
    echo "installing:$$missing"; \
    [ "$$(id -u)" = 0 ] || { echo "make: run as root to install:$$missing" >&2; exit 1; }; \
    DEBIAN_FRONTEND=noninteractive apt-get update -q && \
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
fi
endef

deps:
	$(call install_missing,$(BUILD_DEPS))

deps-check: deps
	$(call install_missing,$(TEST_DEPS))

deps-fuzz: deps
	$(call install_missing,$(FUZZ_DEPS))

$(BUILD)/build.ninja:
	meson setup $(BUILD)

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

run: build
	@[ "$$(id -u)" = 0 ] || { echo "make run: containers need root" >&2; exit 1; }
	$(BERTH) load -q -i $(BUILD)/src/berth/busybox.tar
	$(BERTH) run --rm --hostname berth busybox sh -c '$(DEMO_CMD)'

# Every step always runs; the target fails if any failed (pytest's 5, "no tests", too). First the
# source checks: the layer rules of docs/architecture.md (and that their checker can fail), format.
check: deps-check build
	@rc=0; \
	$(PYTHON) tools/check-layers || rc=1; \
	$(PYTHON) tools/check-layers --self-test || rc=1; \
	tools/check-format || rc=1; \
	meson test -C $(BUILD) --print-errorlogs || rc=1; \
	$(PYTEST) tests/integration -ra $(PYTEST_ARGS) || rc=1; \
	$(PYTEST) tests/security -ra $(PYTEST_ARGS) || rc=1; \
	BERTH_CLIENTS_RUNTIMES=berth-oci,runc $(PYTEST) tests/clients -ra $(PYTEST_ARGS) || rc=1; \
	$(MAKE) --no-print-directory check-vm || rc=1; \
	exit $$rc

check-unit: build
	meson test -C $(BUILD) --print-errorlogs

check-integration: deps-check build
	$(PYTEST) tests/integration -ra $(PYTEST_ARGS)

# podman, containerd and docker driving berth-oci (and runc, to show the harness is sound)
check-clients: deps-check build
	BERTH_CLIENTS_RUNTIMES=berth-oci,runc $(PYTEST) tests/clients -ra $(PYTEST_ARGS)

$(ASAN)/build.ninja:
	meson setup $(ASAN) -Db_sanitize=address,undefined -Db_lundef=false -Dstatic=false

# Under the sanitizers only berth-oci is tested: crun and runc were covered by `check`.
check-asan: deps-check $(ASAN)/build.ninja
	ninja -C $(ASAN)
	@rc=0; \
	export ASAN_OPTIONS=abort_on_error=0:detect_leaks=1 \
	       UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1; \
	meson test -C $(ASAN) --print-errorlogs || rc=1; \
	BERTH_OCI=$(ASAN)/berth-oci BERTH=$(ASAN)/src/berth/berth BERTH_TEST_RUNTIMES=berth-oci \
	    $(PYTEST) tests/integration -ra $(PYTEST_ARGS) || rc=1; \
	BERTH_OCI=$(ASAN)/berth-oci BERTH=$(ASAN)/src/berth/berth BERTH_TEST_RUNTIMES=berth-oci \
	    $(PYTEST) tests/security -ra $(PYTEST_ARGS) || rc=1; \
	exit $$rc

bench: deps-check build
	bench/startup
	bench/run --berth $(BERTH)
	bench/pull --berth $(BERTH)
	bench/services --berth $(BERTH)

$(FUZZ)/build.ninja:
	CC=clang meson setup $(FUZZ) -Dfuzz=true -Dstatic=false

# The first corpus dir is where libFuzzer writes new inputs: keep it out of the tree.
fuzz: deps-fuzz $(FUZZ)/build.ninja
	ninja -C $(FUZZ) tests/fuzz/fuzz-spec tests/fuzz/fuzz-resources tests/fuzz/fuzz-manifest \
	    tests/fuzz/fuzz-auth tests/fuzz/fuzz-docker-archive tests/fuzz/fuzz-layer
	mkdir -p $(FUZZ)/corpus-spec
	$(FUZZ)/tests/fuzz/fuzz-spec -max_total_time=$(FUZZTIME) -print_final_stats=1 \
	    $(FUZZ)/corpus-spec tests/fuzz/corpus-spec
	mkdir -p $(FUZZ)/corpus-resources
	$(FUZZ)/tests/fuzz/fuzz-resources -max_total_time=$(FUZZTIME) -print_final_stats=1 \
	    $(FUZZ)/corpus-resources tests/fuzz/corpus-resources
	mkdir -p $(FUZZ)/corpus-manifest
	$(FUZZ)/tests/fuzz/fuzz-manifest -max_total_time=$(FUZZTIME) -print_final_stats=1 \
	    $(FUZZ)/corpus-manifest tests/fuzz/corpus-manifest
	mkdir -p $(FUZZ)/corpus-auth
	$(FUZZ)/tests/fuzz/fuzz-auth -max_total_time=$(FUZZTIME) -print_final_stats=1 \
	    $(FUZZ)/corpus-auth tests/fuzz/corpus-auth
	mkdir -p $(FUZZ)/corpus-docker-archive
	$(FUZZ)/tests/fuzz/fuzz-docker-archive -max_total_time=$(FUZZTIME) -print_final_stats=1 \
	    $(FUZZ)/corpus-docker-archive tests/fuzz/corpus-docker-archive
	@[ "$$(id -u)" = 0 ] || { echo "make fuzz: fuzz-layer unpacks as root; skipped" >&2; exit 0; }; \
	mkdir -p $(FUZZ)/corpus-layer && \
	$(FUZZ)/tests/fuzz/fuzz-layer -max_total_time=$(FUZZTIME) -print_final_stats=1 \
	    $(FUZZ)/corpus-layer $$(ls -d tests/fuzz/corpus-layer 2>/dev/null)

# cgroup v2 checks of berth-oci in a throw-away QEMU guest (TCG) with a pure cgroup2 hierarchy:
# the host's own cgroups are never touched. Logs in $(BUILD)/vm/. See tests/vm/README.md.
.PHONY: check-vm
check-vm: build
	@command -v qemu-system-x86_64 >/dev/null || { \
	    [ "$$(id -u)" = 0 ] || { echo "make: run as root to install qemu-system-x86" >&2; exit 1; }; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends qemu-system-x86; }
	tests/vm/run.sh -b $(BUILD)/berth-oci -o $(BUILD)/vm

clean:
	rm -rf $(BUILD) $(ASAN) $(FUZZ)
