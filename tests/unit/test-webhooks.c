/* test-webhooks.c: the pure parts of the webhooks: form bodies, Twilio's
 * request signature, delivery statuses. The HTTP side is tested end to end
 * in tests/integration/test-providers.c. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "webhooks.h"

START_TEST(test_form_get)
{
        char out[64];
        ck_assert_int_eq(webhooks_form_get("id=tr_WDqYK6vllg", "id", out, sizeof(out)), 13);
        ck_assert_str_eq(out, "tr_WDqYK6vllg");
        /* Decoded: + is a space, %XX a byte; the exact name only. */
        ck_assert_int_eq(webhooks_form_get("xid=1&id=a%2Bb+c&z=", "id", out, sizeof(out)), 5);
        ck_assert_str_eq(out, "a+b c");
        ck_assert_int_eq(webhooks_form_get("z=&id=", "z", out, sizeof(out)), 0);
        ck_assert_str_eq(out, "");
        /* Absent, a broken escape, a NUL byte, too long: refused. */
        ck_assert_int_eq(webhooks_form_get("idx=1", "id", out, sizeof(out)), -1);
        ck_assert_int_eq(webhooks_form_get("id=tr_%ZZ", "id", out, sizeof(out)), -1);
        ck_assert_int_eq(webhooks_form_get("id=tr_%2", "id", out, sizeof(out)), -1);
        ck_assert_int_eq(webhooks_form_get("id=a%00b", "id", out, sizeof(out)), -1);
        ck_assert_int_eq(webhooks_form_get("id=0123456789", "id", out, 8), -1);
        ck_assert_int_eq(webhooks_form_get("", "id", out, sizeof(out)), -1);
}
END_TEST

START_TEST(test_twilio_signature)
{
        /* Twilio's documented example, its signature computed with Python's
         * hmac (an implementation independent of ours). */
        const char *url = "https://mycompany.com/myapp.php?foo=1&bar=2";
        const char *body = "CallSid=CA1234567890ABCDE&Caller=%2B12349013030&Digits=1234"
                           "&From=%2B12349013030&To=%2B18005551212";
        ck_assert(webhooks_twilio_signature_ok("12345", url, body, "0/KCTR6DLpKmkAf8muzZqo1nDgQ="));
        /* The order of the parameters in the body does not matter. */
        ck_assert(webhooks_twilio_signature_ok("12345", url,
                                               "To=%2B18005551212&Digits=1234&CallSid=CA1234567890ABCDE"
                                               "&From=%2B12349013030&Caller=%2B12349013030",
                                               "0/KCTR6DLpKmkAf8muzZqo1nDgQ="));
        /* Anything else changed: refused. */
        ck_assert(!webhooks_twilio_signature_ok("12346", url, body, "0/KCTR6DLpKmkAf8muzZqo1nDgQ="));
        ck_assert(!webhooks_twilio_signature_ok("12345", "https://mycompany.com/myapp.php", body,
                                                "0/KCTR6DLpKmkAf8muzZqo1nDgQ="));
        ck_assert(!webhooks_twilio_signature_ok(
                "12345", url,
                "CallSid=CA1234567890ABCDE&Caller=%2B12349013030&Digits=1235"
                "&From=%2B12349013030&To=%2B18005551212",
                "0/KCTR6DLpKmkAf8muzZqo1nDgQ="));
        ck_assert(!webhooks_twilio_signature_ok("12345", url, body, "0/KCTR6DLpKmkAf8muzZqo1nDgQ"));
        ck_assert(!webhooks_twilio_signature_ok("12345", url, body, NULL));
        ck_assert(!webhooks_twilio_signature_ok("", url, body, "0/KCTR6DLpKmkAf8muzZqo1nDgQ="));
        ck_assert(!webhooks_twilio_signature_ok("12345", url, "CallSid=%ZZ", "x"));
}
END_TEST

START_TEST(test_dlr_status)
{
        ck_assert_int_eq(webhooks_dlr_status("messagebird", "delivered"), WEBHOOKS_DLR_DELIVERED);
        ck_assert_int_eq(webhooks_dlr_status("messagebird", "delivery_failed"),
                         WEBHOOKS_DLR_UNDELIVERED);
        ck_assert_int_eq(webhooks_dlr_status("messagebird", "expired"), WEBHOOKS_DLR_UNDELIVERED);
        ck_assert_int_eq(webhooks_dlr_status("messagebird", "buffered"), WEBHOOKS_DLR_IGNORE);
        ck_assert_int_eq(webhooks_dlr_status("messagebird", "sent"), WEBHOOKS_DLR_IGNORE);
        ck_assert_int_eq(webhooks_dlr_status("twilio", "undelivered"), WEBHOOKS_DLR_UNDELIVERED);
        ck_assert_int_eq(webhooks_dlr_status("twilio", "failed"), WEBHOOKS_DLR_UNDELIVERED);
        ck_assert_int_eq(webhooks_dlr_status("twilio", "delivered"), WEBHOOKS_DLR_DELIVERED);
        ck_assert_int_eq(webhooks_dlr_status("twilio", "queued"), WEBHOOKS_DLR_IGNORE);
        /* Statuses are the provider's own words. */
        ck_assert_int_eq(webhooks_dlr_status("twilio", "delivery_failed"), WEBHOOKS_DLR_IGNORE);
        ck_assert_int_eq(webhooks_dlr_status("generic", "undelivered"), WEBHOOKS_DLR_UNDELIVERED);
        ck_assert_int_eq(webhooks_dlr_status(NULL, "delivered"), WEBHOOKS_DLR_IGNORE);
}
END_TEST

static Suite *suite(void)
{
        Suite *s = suite_create("webhooks");
        TCase *tc = tcase_create("pure");
        tcase_add_test(tc, test_form_get);
        tcase_add_test(tc, test_twilio_signature);
        tcase_add_test(tc, test_dlr_status);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return unit_run(suite());
}
