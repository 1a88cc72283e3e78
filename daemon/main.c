/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdio.h>

int main(void)
{
	puts("weftd: under construction");
	return 0;
}
