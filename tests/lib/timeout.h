/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The harness gives each test 30 s unless told otherwise.  On the debug
 * kernel (KASAN, lockdep, kmemleak under emulation) the same test runs 3 to
 * 10 times slower, so every test gets 180 s; the guest runner still bounds
 * each program (VMTEST_TEST_TIMEOUT, 300 s).  Include after
 * kselftest_harness.h.
 */
#ifndef BLKSNAP_TESTS_TIMEOUT_H
#define BLKSNAP_TESTS_TIMEOUT_H

#ifdef TEST_TIMEOUT_DEFAULT
#undef TEST_TIMEOUT_DEFAULT
#define TEST_TIMEOUT_DEFAULT 180
#endif

#endif /* BLKSNAP_TESTS_TIMEOUT_H */
