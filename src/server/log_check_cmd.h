/* log_check_cmd.h: the `runnel log-check` command (see log_check_cmd.c). */
#ifndef RN_SERVER_LOG_CHECK_CMD_H
#define RN_SERVER_LOG_CHECK_CMD_H

/* argv: the arguments after `log-check`. Returns the exit code. */
int rn_log_check_main(int argc, char **argv);

#endif
