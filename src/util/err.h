/* One-line error messages for the caller's buffer (what the user sees). */
#ifndef DUVISOR_UTIL_ERR_H
#define DUVISOR_UTIL_ERR_H

#include <stddef.h>

/* Format the reason into err (truncated to err_len) and return -1, so that
   `return set_err(err, len, "...", ...);` both reports and fails. */
__attribute__((format(printf, 3, 4))) int set_err(char *err, size_t err_len, const char *fmt, ...);

#endif
