/* heraldd: the herald dispatcher daemon. */
#include "autoconf.h"

#include <stdio.h>

int
main(void)
{
	fprintf(stderr, "heraldd: not yet\n");
	return 1;
}
