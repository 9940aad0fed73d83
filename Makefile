# SPDX-License-Identifier: GPL-2.0
#
# blksnap: user-facing make targets.  The kbuild part is in Kbuild.
#
#   make [module] [KDIR=<kernel build dir>]   build blksnap.ko
#   make check [KERNELS="6.1 6.12"] [TESTS="name ..."]
#                                             run the test suite in QEMU
#   make tests-host                           host-side tests (UAPI layout)
#   make style                                checkpatch --strict + kernel-doc
#   make dkms-check                           dkms add/build/install for both
#                                             Debian kernels, then remove
#   make tools [STATIC=1]                     build tools/blksnapctl
#   make install / make uninstall             install the module into
#                                             /lib/modules and blksnapctl
#                                             into $(DESTDIR)$(PREFIX)/sbin
#   make clean

KVER ?= $(shell uname -r)
KDIR ?= /lib/modules/$(KVER)/build
INSTALL_MOD_DIR ?= updates

.PHONY: all module tools check tests-host style dkms-check install uninstall clean

all: module

module/compat-gen.h: FORCE
	@module/probes/gen.sh $(KDIR) $@

module: module/compat-gen.h
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules
	@if [ -x scripts/check-tailcall.sh ]; then scripts/check-tailcall.sh blksnap.ko; fi

tools:
	$(MAKE) -C tools/blksnapctl

check:
	tests/vm/vmtest.sh

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

FORCE:
