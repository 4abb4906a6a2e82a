/*  =========================================================================
    sf_actx - the context one analyzer call runs in
    ========================================================================= */

#include <czmq.h>
#include <stdarg.h>
#include "sf_actx.h"
#include "sf_json.h"
#include "sf_mp.h"

void
sf_actx_init (sf_actx_t *self)
{
    memset (self, 0, sizeof *self);
    msgpack_sbuffer_init (&self->output);
    msgpack_packer_init (&self->packer, &self->output, msgpack_sbuffer_write);
}

void
sf_actx_destroy (sf_actx_t *self)
{
    msgpack_sbuffer_destroy (&self->output);
    json_decref (self->context);
    self->context = NULL;
}

void
sf_actx_reset (sf_actx_t *self, const msgpack_object *job, uint32_t attempt)
{
    msgpack_sbuffer_clear (&self->output);
    json_decref (self->context);
    self->context = NULL;
    self->job = job;
    self->params = sf_mp_get (job, "params");
    self->attempt = attempt;
    self->failed = false;
    self->code [0] = self->message [0] = 0;
}

void
sf_actx_pack_error (sf_actx_t *self, msgpack_packer *pk)
{
    msgpack_pack_map (pk, self->context? 3: 2);
    sf_mp_pack_kv_str (pk, "code", self->code);
    sf_mp_pack_kv_str (pk, "message", self->message);
    if (self->context) {
        sf_mp_pack_str (pk, "context");
        sf_json_pack (pk, self->context);
    }
}

//  --------------------------------------------------------------------------
//  The analyzer's side (analyzer.h).

const msgpack_object *
sf_actx_params (sf_actx_t *ctx)
{
    return ctx->params;
}

const msgpack_object *
sf_actx_param (sf_actx_t *ctx, const char *name)
{
    return sf_mp_get (ctx->params, name);
}

const msgpack_object *
sf_actx_job (sf_actx_t *ctx)
{
    return ctx->job;
}

uint32_t
sf_actx_attempt (sf_actx_t *ctx)
{
    return ctx->attempt;
}

msgpack_packer *
sf_actx_output (sf_actx_t *ctx)
{
    return &ctx->packer;
}

bool
sf_actx_cancelled (sf_actx_t *ctx)
{
    (void) ctx;
    return zsys_interrupted != 0;
}

int
sf_actx_fail (sf_actx_t *ctx, const char *code, const char *format, ...)
{
    ctx->failed = true;
    snprintf (ctx->code, sizeof ctx->code, "%s", code);
    va_list args;
    va_start (args, format);
    vsnprintf (ctx->message, sizeof ctx->message, format, args);
    va_end (args);
    return -1;
}

static void
s_context_set (sf_actx_t *ctx, const char *key, json_t *value)
{
    if (!ctx->context)
        ctx->context = json_object ();
    json_object_set_new (ctx->context, key, value);
}

void
sf_actx_context_str (sf_actx_t *ctx, const char *key, const char *value)
{
    s_context_set (ctx, key, json_string (value));
}

void
sf_actx_context_int (sf_actx_t *ctx, const char *key, int64_t value)
{
    s_context_set (ctx, key, json_integer (value));
}
