# SPDX-License-Identifier: GPL-2.0
#
# blksnap: user-facing make targets.  The kbuild part is in Kbuild.
#
#   make [module] [KDIR=<kernel build dir>]   build blksnap.ko
#   make demo [KERNELS=6.12]                  a full and an incremental
#                                             backup of a live ext4 in QEMU,
#                                             restored and compared
#   make check [KERNELS="6.1 6.12"] [TESTS="name ..."]
#                                             run the test suite in QEMU;
#                                             KERNELS also takes latest,
#                                             trixie-6.12, sid, 7.3, debug
#   make check KERNEL=<bzImage> KDIR=<build tree or modules dir>
#        [MODULES=<modules dir>]              the suite on a kernel given
#                                             by path (yours)
#   make bench [KERNELS="6.1 6.12"]          performance scenarios in QEMU
#                                             (not part of check; see
#                                             Documentation/benchmarks.rst)
#   make debug-kernel                         build the KASAN/lockdep/kmemleak
#                                             kernel from linux-source-6.12
#                                             (once; cached)
#   make check-debug                          the test suite on that kernel,
#                                             ending with a kmemleak scan
#   make stress [STRESS_SECONDS=3600] [KERNELS=...]
#                                             long stress-with-faults run
#   make fuzz [FUZZ_CALLS=10000000] [KERNELS=...]
#                                             long ioctl fuzzing run
#   make tests-host                           host-side tests (UAPI layout)
#   make style                                checkpatch --strict + kernel-doc
#   make dkms-check                           dkms add/build/install for both
#                                             Debian kernels, then remove
#   make dkms-install [DESTDIR=]              the DKMS tree in
#                                             /usr/src/blksnap-<release>, the
#                                             udev rule, blksnapctl and the
#                                             boot-time attach unit; without
#                                             DESTDIR also dkms add + install
#   make dkms-uninstall                       dkms remove, and all of the above
#   make deb                                  the Debian packages (../*.deb)
#   make deb-check                            build, lintian, install, use,
#                                             purge the packages (root)
#   make version                              the release number (NEWS)
#   make tools [STATIC=1]                     build tools/blksnapctl
#   make lib                                  build libblksnap (lib/)
#   make install / make uninstall             install the module into
#                                             /lib/modules and blksnapctl
#                                             into $(DESTDIR)$(PREFIX)/sbin
#   make clean

# depmod, modprobe and mkfs live in /sbin, outside a user's PATH on Debian
export PATH := $(PATH):/usr/sbin:/sbin
KVER ?= $(shell uname -r)
KDIR ?= /lib/modules/$(KVER)/build
INSTALL_MOD_DIR ?= updates
# the project's release (NEWS); not in the DKMS copy, which needs none
VERSION = $(shell scripts/version.sh)
PREFIX ?= /usr
# Debian 12's places for package-owned udev rules and units
UDEVRULESDIR ?= /lib/udev/rules.d
SYSTEMDUNITDIR ?= /lib/systemd/system
LIBEXECDIR ?= $(PREFIX)/libexec
DKMS_SRC = $(DESTDIR)/usr/src/blksnap-$(VERSION)

.PHONY: all module module-clean ftrace-check host-deps tools lib demo check debug-kernel check-debug \
	stress fuzz bench tests-host style dkms-check dkms-source dkms-install dkms-uninstall \
	dist-install dist-uninstall deb deb-check version install uninstall clean

all: module

# The filter layer needs ftrace callbacks that may change the instruction
# pointer: either flavour will do (compat.h says the same with #error, but
# only after the probes ran; dkms.conf cannot express "or").
KCONFIG = $(firstword $(wildcard $(KDIR)/include/config/auto.conf $(KDIR)/.config))

ftrace-check:
	@if [ -n "$(KCONFIG)" ] && ! grep -qE '^CONFIG_DYNAMIC_FTRACE_WITH_(ARGS|REGS)=y' "$(KCONFIG)"; then \
		echo "blksnap: the kernel in $(KDIR) has neither CONFIG_DYNAMIC_FTRACE_WITH_ARGS nor CONFIG_DYNAMIC_FTRACE_WITH_REGS, which blksnap needs to hook the block layer." >&2; \
		exit 1; \
	fi

module/compat-gen.h: ftrace-check FORCE
	@if [ ! -d "$(KDIR)" ]; then \
		echo "blksnap: no kernel headers at $(KDIR): install them (Debian: apt-get install linux-headers-$(KVER)) or give KDIR=<kernel build dir>" >&2; \
		exit 1; \
	fi
	@module/probes/gen.sh $(KDIR) $@

module: module/compat-gen.h
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules
	@if [ -x scripts/check-tailcall.sh ]; then scripts/check-tailcall.sh blksnap.ko; fi

tools:
	$(MAKE) -C tools/blksnapctl

lib:
	$(MAKE) -C lib

# examples/minimal-agent, the libblksnap example (OUT=, STATIC=1)
.PHONY: examples
examples:
	$(MAKE) -C examples

# the host tools the QEMU bench needs: installed when root, else named
host-deps:
	@scripts/host-deps.sh

demo: host-deps
	@tests/vm/demo.sh

check: host-deps
	$(if $(KERNEL),KERNEL="$(KERNEL)" KDIR="$(KDIR)" MODULES="$(MODULES)") tests/vm/vmtest.sh

bench:
	scripts/bench.sh

debug-kernel:
	scripts/build-debug-kernel.sh

# KASAN and lockdep under emulation: 3-10x slower than Debian's kernels
check-debug:
	KERNELS=debug VMTEST_TEST_TIMEOUT=900 VMTEST_TIMEOUT=2700 tests/vm/vmtest.sh

STRESS_SECONDS ?= 3600
FUZZ_CALLS ?= 10000000
FUZZ_SECONDS ?= 36000

stress:
	TESTS=stress_faults EXTRA_APPEND="env.STRESS_SECONDS=$(STRESS_SECONDS)" \
	VMTEST_TEST_TIMEOUT=$$(($(STRESS_SECONDS) + 600)) \
	VMTEST_TIMEOUT=$$(($(STRESS_SECONDS) + 900)) tests/vm/vmtest.sh

fuzz:
	TESTS=fuzz_ioctl \
	EXTRA_APPEND="env.FUZZ_CALLS=$(FUZZ_CALLS) env.FUZZ_SECONDS=$(FUZZ_SECONDS)" \
	VMTEST_TEST_TIMEOUT=$$(($(FUZZ_SECONDS) + 600)) \
	VMTEST_TIMEOUT=$$(($(FUZZ_SECONDS) + 900)) tests/vm/vmtest.sh

tests-host:
	$(MAKE) -C tests host

style:
	scripts/style.sh

dkms-check:
	scripts/dkms-check.sh

version:
	@echo $(VERSION)

# The module's sources as DKMS builds them: no tools/, lib/ or tests/.
dkms-source:
	@v="$(VERSION)"; [ -n "$$v" ] || exit 1
	install -d $(DKMS_SRC)/module/probes $(DKMS_SRC)/include/uapi/linux $(DKMS_SRC)/scripts
	install -m 0644 Makefile Kbuild $(DKMS_SRC)/
	sed 's/^PACKAGE_VERSION=.*/PACKAGE_VERSION="$(VERSION)"/' dkms.conf > $(DKMS_SRC)/dkms.conf
	install -m 0644 $(filter-out module/compat-gen.h,$(wildcard module/*.[ch])) $(DKMS_SRC)/module/
	install -m 0644 $(wildcard module/probes/*.c) $(DKMS_SRC)/module/probes/
	install -m 0755 module/probes/gen.sh $(DKMS_SRC)/module/probes/
	install -m 0644 include/blksnap-testing.h $(DKMS_SRC)/include/
	install -m 0644 $(wildcard include/uapi/linux/*.h) $(DKMS_SRC)/include/uapi/linux/
	install -m 0755 scripts/check-tailcall.sh $(DKMS_SRC)/scripts/

# The udev rule for images, the boot-time attach unit, its script and
# configuration, the opt-in modules-load.d file (as an example).
dist-install:
	install -D -m 0644 dist/59-blksnap-image.rules $(DESTDIR)$(UDEVRULESDIR)/59-blksnap-image.rules
	install -D -m 0644 dist/blksnap-attach.service $(DESTDIR)$(SYSTEMDUNITDIR)/blksnap-attach.service
	install -D -m 0755 dist/blksnap-attach $(DESTDIR)$(LIBEXECDIR)/blksnap/blksnap-attach
	install -D -m 0644 dist/modules-load.conf $(DESTDIR)$(PREFIX)/share/doc/blksnap/examples/modules-load.d/blksnap.conf
	@if [ ! -e $(DESTDIR)/etc/blksnap/attach.conf ]; then \
		echo install -D -m 0644 dist/attach.conf $(DESTDIR)/etc/blksnap/attach.conf; \
		install -D -m 0644 dist/attach.conf $(DESTDIR)/etc/blksnap/attach.conf; \
	fi

dist-uninstall:
	rm -f $(DESTDIR)$(UDEVRULESDIR)/59-blksnap-image.rules $(DESTDIR)$(SYSTEMDUNITDIR)/blksnap-attach.service
	rm -rf $(DESTDIR)$(LIBEXECDIR)/blksnap $(DESTDIR)$(PREFIX)/share/doc/blksnap/examples
	-rmdir $(DESTDIR)$(PREFIX)/share/doc/blksnap 2>/dev/null
	@if cmp -s dist/attach.conf $(DESTDIR)/etc/blksnap/attach.conf; then \
		rm -f $(DESTDIR)/etc/blksnap/attach.conf; rmdir $(DESTDIR)/etc/blksnap 2>/dev/null; \
	elif [ -e $(DESTDIR)/etc/blksnap/attach.conf ]; then \
		echo "kept $(DESTDIR)/etc/blksnap/attach.conf (changed)"; \
	fi; true

dkms-install: dkms-source dist-install
	$(MAKE) -C tools/blksnapctl install DESTDIR=$(DESTDIR) PREFIX=$(PREFIX)
	@if [ -z "$(DESTDIR)" ]; then \
		set -e; \
		dkms add -m blksnap -v $(VERSION); \
		dkms install -m blksnap -v $(VERSION); \
		if command -v udevadm >/dev/null; then udevadm control --reload || true; fi; \
		if [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi; \
		echo "blksnap $(VERSION): modprobe blksnap loads it; list devices in /etc/blksnap/attach.conf and run 'systemctl enable blksnap-attach' to re-attach them at boot"; \
	fi

dkms-uninstall:
	@if [ -z "$(DESTDIR)" ] && command -v dkms >/dev/null && [ -n "$$(dkms status -m blksnap -v $(VERSION))" ]; then \
		echo dkms remove -m blksnap -v $(VERSION) --all; \
		dkms remove -m blksnap -v $(VERSION) --all; \
	fi
	@if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then systemctl disable blksnap-attach.service 2>/dev/null || true; fi
	rm -rf $(DKMS_SRC)
	$(MAKE) -C tools/blksnapctl uninstall DESTDIR=$(DESTDIR) PREFIX=$(PREFIX)
	$(MAKE) dist-uninstall

deb:
	scripts/deb-build.sh

deb-check:
	scripts/deb-check.sh

install: module tools
	$(MAKE) -C $(KDIR) M=$(CURDIR) INSTALL_MOD_DIR=$(INSTALL_MOD_DIR) modules_install
	depmod -a $(KVER)
	$(MAKE) -C tools/blksnapctl install

uninstall:
	rm -f /lib/modules/$(KVER)/$(INSTALL_MOD_DIR)/blksnap.ko*
	depmod -a $(KVER)
	$(MAKE) -C tools/blksnapctl uninstall

# what dkms.conf's CLEAN runs: the DKMS copy has no tools/ or lib/
module-clean:
	@if [ -d "$(KDIR)" ]; then $(MAKE) -C $(KDIR) M=$(CURDIR) clean; fi
	rm -f module/compat-gen.h

clean: module-clean
	@if [ -d tools/blksnapctl ]; then $(MAKE) -C tools/blksnapctl clean; fi
	@if [ -d lib ]; then $(MAKE) -C lib clean; fi

FORCE:
