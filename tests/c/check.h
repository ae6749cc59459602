/* check.h: what the C test files share. test_core.c owns main() and the
 * counts behind the final "N passed, N failed" line; every file reports
 * through report() and exposes its tests for main() to run. */
#ifndef FM_TEST_CHECK_H
#define FM_TEST_CHECK_H

/* Prints "ok - name" or "not ok - name: detail" and counts it. */
void report(int ok, const char *name, const char *detail);

/* tests/c/test_saliency.c */
void test_saliency(void);
/* tests/c/test_jitter.c */
void test_jitter(void);
/* tests/c/test_float16.c */
void test_float16(void);
/* tests/c/test_q16.c */
void test_q16(void);

#endif
