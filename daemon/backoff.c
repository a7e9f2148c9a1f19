/* backoff.c: exponential backoff with jitter. */
#include "backoff.h"

int64_t backoff_delay_ms(int attempt, int64_t base_ms, int64_t max_ms, uint32_t rnd)
{
        int64_t d = base_ms;

        if (attempt < 1)
                attempt = 1;
        if (base_ms <= 0)
                return 0;
        for (int i = 1; i < attempt && d < max_ms; i++)
                d *= 2;
        if (d > max_ms)
                d = max_ms;
        int64_t half = d / 2;
        return half + (int64_t)(rnd % (uint64_t)(d - half + 1));
}
