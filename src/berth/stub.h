/* placeholder for commands being written */
#include "berth.h"
#define BERTH_STUB(sym, n)                                                                   \
        static int sym##_run(struct berth_global *g, int argc, char **argv)                  \
        {                                                                                    \
                (void)g; (void)argc; (void)argv;                                             \
                fprintf(stderr, "berth: %s: not implemented yet\n", n);                      \
                return 125;                                                                  \
        }                                                                                    \
        const struct berth_cmd sym = {n, "not implemented yet", sym##_run}
