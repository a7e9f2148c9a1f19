/* ctl.h: dunningctl, the operator's command line (everything but main). */
#pragma once

/* Runs dunningctl with its arguments (argv[0] is the program name).
 * Returns the process exit code: 0 ok, 1 error, 2 usage error or some
 * input rows rejected. */
int ctl_main(int argc, char **argv);
