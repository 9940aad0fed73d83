# SPDX-License-Identifier: GPL-2.0
#
# blksnap: user-facing make targets.  The kbuild part is in Kbuild.
#
#   make [module] [KDIR=<kernel build dir>]   build blksnap.ko
#   make check [KERNELS="6.1 6.12"] [TESTS="name ..."]
#                                             run the test suite in QEMU
#   make bench [KERNELS="6.1 6.12"]          performance scenarios in QEMU
#                                             (not part of check; see
#                                             Documentation/benchmarks.rst)
#   make tests-host                           host-side tests (UAPI layout)
#   make style                                checkpatch --strict + kernel-doc
#   make dkms-check                           dkms add/build/install for both
#                                             Debian kernels, then remove
#   make install / make uninstall             install into /lib/modules
#   make clean

KVER ?= $(shell uname -r)
KDIR ?= /lib/modules/$(KVER)/build
INSTALL_MOD_DIR ?= updates

.PHONY: all module check bench tests-host style dkms-check install uninstall clean

all: module

module/compat-gen.h: FORCE
	@module/probes/gen.sh $(KDIR) $@

module: module/compat-gen.h
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules
	@if [ -x scripts/check-tailcall.sh ]; then scripts/check-tailcall.sh blksnap.ko; fi

check:
	tests/vm/vmtest.sh

bench:
	scripts/bench.sh

tests-host:
	$(MAKE) -C tests host

style:
	scripts/style.sh

dkms-check:
	scripts/dkms-check.sh

install: module
	$(MAKE) -C $(KDIR) M=$(CURDIR) INSTALL_MOD_DIR=$(INSTALL_MOD_DIR) modules_install
	depmod -a $(KVER)

uninstall:
	rm -f /lib/modules/$(KVER)/$(INSTALL_MOD_DIR)/blksnap.ko*
	depmod -a $(KVER)

clean:
	-$(MAKE) -C $(KDIR) M=$(CURDIR) clean
	rm -f module/compat-gen.h

FORCE:
