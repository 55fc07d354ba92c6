/* The version the build stamps in (git describe), for --version and the API. */
#include "cli/cli.h"

#ifndef DUVISOR_VERSION
#define DUVISOR_VERSION "unknown"
#endif

const char DUVISOR_VERSION_STRING[] = DUVISOR_VERSION;
