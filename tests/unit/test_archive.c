/* Unit tests of the web archive's content against a real database. */
#include "autoconf.h"
int main(void) { return 0; }
