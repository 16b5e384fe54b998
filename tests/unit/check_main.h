/* check_main.h - the shared main() of the Check unit suites.
 *
 * Each suite file defines `Suite *make_suite(void)` and includes this header
 * once; main runs the suite with CK_FORK (unless CK_FORK=no) and ends with
 * the closing line every dynis test prints: "N passed, M failed". */
#ifndef DYNIS_TESTS_CHECK_MAIN_H
#define DYNIS_TESTS_CHECK_MAIN_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>

Suite *make_suite(void);

int main(void)
{
    SRunner *runner = srunner_create(make_suite());
    srunner_run_all(runner, CK_NORMAL);
    int run = srunner_ntests_run(runner);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    printf("%d passed, %d failed\n", run - failed, failed);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif
