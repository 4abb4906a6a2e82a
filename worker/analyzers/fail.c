/*  =========================================================================
    fail - always fails with code ANALYSIS (params.code if given), a message
    (params.message if given) and a context map; tests the error path end
    to end, and retries with code TRANSIENT
    ========================================================================= */

#include "sheaf_analyzer.h"

static int
s_analyze (sf_actx_t *ctx)
{
    const msgpack_object *message = sf_actx_param (ctx, "message");
    const msgpack_object *code_param = sf_actx_param (ctx, "code");
    char code [32] = "ANALYSIS";
    if (code_param && code_param->type == MSGPACK_OBJECT_STR)
        snprintf (code, sizeof code, "%.*s", (int) code_param->via.str.size,
                  code_param->via.str.ptr);
    sf_actx_context_str (ctx, "analyzer", "fail");
    sf_actx_context_int (ctx, "attempt", sf_actx_attempt (ctx));
    if (message && message->type == MSGPACK_OBJECT_STR)
        return sf_actx_fail (ctx, code, "%.*s", (int) message->via.str.size,
                             message->via.str.ptr);
    return sf_actx_fail (ctx, code, "the fail analyzer failed, as asked");
}

static const sf_param_t s_params [] = {
    { "message", SF_PARAM_TEXT, 0, 0, 0, NULL, "the error message to fail with" },
    { "code", SF_PARAM_TEXT, 0, 0, 0, NULL, "the error code to fail with (ANALYSIS)" },
    { NULL }
};

const sf_analyzer_t sf_analyzer_fail = {
    .name = "fail", .version = "1", .summary = "fails with code ANALYSIS",
    .analyze = s_analyze, .params = s_params
};
