/* fake-letter.c: a letter module of another build, for test-letter and
 * test-ops: its ABI names another version, and it renders nothing. */
#include <errno.h>

#include "letter.h"

__attribute__((visibility("default"))) const struct letter_abi letter_module_abi = {
        "0.0.0-other", sizeof(struct letter_input), sizeof(struct letter_invoice),
        sizeof(struct buf), sizeof(struct error)
};

__attribute__((visibility("default"))) int letter_module_render(struct buf *pdf,
                                                               const struct letter_input *in,
                                                               struct error *err)
{
        (void)pdf;
        (void)in;
        return error_set(err, -EIO, "the fake letter module was called");
}
