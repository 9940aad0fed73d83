/* SPDX-License-Identifier: GPL-2.0 */
#ifndef BLKSNAP_TEST_FILTER_H
#define BLKSNAP_TEST_FILTER_H

/*
 * The "blksnap-test" filter exists only in test builds (BLKSNAP_TESTING=y
 * links module/test_filter.o, see Kbuild).
 */
#ifndef BLKSNAP_TESTING
#define BLKSNAP_TESTING 0
#endif

#if BLKSNAP_TESTING
int test_filter_init(void);
void test_filter_exit(void);
#else
static inline int test_filter_init(void)
{
	return 0;
}

static inline void test_filter_exit(void)
{
}
#endif

#endif /* BLKSNAP_TEST_FILTER_H */
