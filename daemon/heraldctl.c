/* heraldctl: the coordinator's command-line tool. */
#include "autoconf.h"

#include <stdio.h>

int
main(void)
{
	fprintf(stderr, "heraldctl: not yet\n");
	return 1;
}
