/* sidr bench: prefill and decode speed. */
#include <stdio.h>

#include "cli.h"
#include "commands.h"

int cmd_bench(int argc, char **argv)
{
    (void)argc; (void)argv;
    fprintf(stderr, "sidr bench: not available in this build yet\n");
    return EXIT_RUNTIME;
}
