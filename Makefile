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
#   make tools [STATIC=1]                     build tools/blksnapctl
#   make lib                                  build libblksnap (lib/)
#   make install / make uninstall             install the module into
#                                             /lib/modules and blksnapctl
#                                             into $(DESTDIR)$(PREFIX)/sbin
#   make clean

KVER ?= $(shell uname -r)
KDIR ?= /lib/modules/$(KVER)/build
INSTALL_MOD_DIR ?= updates

.PHONY: all module ftrace-check tools lib demo check debug-kernel check-debug stress fuzz bench tests-host \
	style dkms-check install uninstall clean

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

demo:
	@tests/vm/demo.sh

check:
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

install: module tools
	$(MAKE) -C $(KDIR) M=$(CURDIR) INSTALL_MOD_DIR=$(INSTALL_MOD_DIR) modules_install
	depmod -a $(KVER)
	$(MAKE) -C tools/blksnapctl install

uninstall:
	rm -f /lib/modules/$(KVER)/$(INSTALL_MOD_DIR)/blksnap.ko*
	depmod -a $(KVER)
	$(MAKE) -C tools/blksnapctl uninstall

clean:
	-$(MAKE) -C $(KDIR) M=$(CURDIR) clean
	rm -f module/compat-gen.h
	$(MAKE) -C tools/blksnapctl clean
	$(MAKE) -C lib clean

FORCE:
