/*  =========================================================================
    sf_msg - the envelope of every sheaf message

    Frames are received with zmq_msg_recv straight into zmq_msg_t so that a
    body is never copied on its way to the decoder.
    ========================================================================= */

#include <errno.h>
#include <string.h>
#include <msgpack.h>
#include "sf_msg.h"
#include "sf_mp.h"

//  --------------------------------------------------------------------------
//  Command names for logs.

const char *
sf_cmd_name (int command)
{
    switch (command) {
        case SF_CMD_SUBMIT: return "SUBMIT";
        case SF_CMD_STATUS: return "STATUS";
        case SF_CMD_FETCH: return "FETCH";
        case SF_CMD_CANCEL: return "CANCEL";
        case SF_CMD_DEAD: return "DEAD";
        case SF_CMD_GROUP: return "GROUP";
        case SF_CMD_READY: return "READY";
        case SF_CMD_RESULTS: return "RESULTS";
        case SF_CMD_HEARTBEAT: return "HEARTBEAT";
        case SF_CMD_DISCONNECT: return "DISCONNECT";
        case SF_CMD_LOST: return "LOST";
        case SF_CMD_ACCEPTED: return "ACCEPTED";
        case SF_CMD_RESULT: return "RESULT";
        case SF_CMD_ERROR: return "ERROR";
        case SF_CMD_STATUS_REPLY: return "STATUS_REPLY";
        case SF_CMD_STATE: return "STATE";
        case SF_CMD_CANCEL_REPLY: return "CANCEL_REPLY";
        case SF_CMD_DEAD_REPLY: return "DEAD_REPLY";
        case SF_CMD_GROUP_RESULT: return "GROUP_RESULT";
        case SF_CMD_GROUP_ITEM: return "GROUP_ITEM";
        case SF_CMD_DISPATCH: return "DISPATCH";
        case SF_CMD_STOP: return "STOP";
        default: return "UNKNOWN";
    }
}

void
sf_msg_init (sf_msg_t *self)
{
    zmq_msg_init (&self->routing);
    zmq_msg_init (&self->body);
    self->command = -1;
    self->routed = false;
}

void
sf_msg_close (sf_msg_t *self)
{
    zmq_msg_close (&self->routing);
    zmq_msg_close (&self->body);
    sf_msg_init (self);
}

const char *
sf_msg_data (sf_msg_t *self)
{
    return (const char *) zmq_msg_data (&self->body);
}

size_t
sf_msg_size (sf_msg_t *self)
{
    return zmq_msg_size (&self->body);
}

//  Receive the rest of a multipart message and throw it away.
static void
s_drain (void *handle, zmq_msg_t *frame)
{
    while (zmq_msg_more (frame)) {
        if (zmq_msg_recv (frame, handle, 0) < 0)
            break;
    }
}

static bool
s_known_command (int command)
{
    return strcmp (sf_cmd_name (command), "UNKNOWN") != 0;
}

//  --------------------------------------------------------------------------
//  Receive and validate one envelope.

static int
s_recv (sf_msg_t *self, void *handle, bool router, int flags, sf_error_t *error)
{
    sf_msg_close (self);
    zmq_msg_t frame;
    zmq_msg_init (&frame);
    if (router) {
        if (zmq_msg_recv (&self->routing, handle, flags) < 0) {
            zmq_msg_close (&frame);
            return 1;
        }
        self->routed = true;
        flags = 0;              //  The rest of a message is already here
        if (!zmq_msg_more (&self->routing)) {
            zmq_msg_close (&frame);
            return sf_error_set (error, "PROTOCOL", "empty message");
        }
    }
    int rc = -1;
    if (zmq_msg_recv (&frame, handle, flags) < 0) {
        zmq_msg_close (&frame);
        return router? sf_error_set (error, "PROTOCOL", "truncated message"): 1;
    }
    //  Frame 1: signature
    size_t size = zmq_msg_size (&frame);
    const char *data = (const char *) zmq_msg_data (&frame);
    if (size != SF_PROTO_SIGNATURE_SIZE || memcmp (data, "SF", 2) != 0) {
        sf_error_set (error, "PROTOCOL", "first frame is not a sheaf signature (want \"%s\")",
                      SF_PROTO_SIGNATURE);
        goto done;
    }
    if (memcmp (data, SF_PROTO_SIGNATURE, SF_PROTO_SIGNATURE_SIZE) != 0) {
        sf_error_set (error, "VERSION", "protocol %.4s is not supported; this peer speaks %s",
                      data, SF_PROTO_SIGNATURE);
        goto done;
    }
    //  Frame 2: command
    if (!zmq_msg_more (&frame) || zmq_msg_recv (&frame, handle, 0) < 0) {
        sf_error_set (error, "PROTOCOL", "message has no command frame");
        goto done;
    }
    if (zmq_msg_size (&frame) != 1) {
        sf_error_set (error, "PROTOCOL", "command frame must be 1 byte, not %zu",
                      zmq_msg_size (&frame));
        goto done;
    }
    int command = *(const unsigned char *) zmq_msg_data (&frame);
    if (!s_known_command (command)) {
        sf_error_set (error, "UNKNOWN_COMMAND", "unknown command 0x%02x", command);
        goto done;
    }
    //  Frame 3: body, and nothing after it
    if (!zmq_msg_more (&frame) || zmq_msg_recv (&self->body, handle, 0) < 0) {
        sf_error_set (error, "PROTOCOL", "%s has no body frame", sf_cmd_name (command));
        zmq_msg_close (&frame);
        zmq_msg_init (&frame);  //  Nothing more to drain
        goto done;
    }
    if (zmq_msg_more (&self->body)) {
        zmq_msg_move (&frame, &self->body);
        sf_error_set (error, "PROTOCOL", "%s has more than 3 frames", sf_cmd_name (command));
        goto done;
    }
    self->command = command;
    rc = 0;
done:
    //  On failure frame is the last frame read: throw away what follows it
    if (rc != 0)
        s_drain (handle, &frame);
    zmq_msg_close (&frame);
    return rc;
}

int
sf_msg_recv (sf_msg_t *self, void *handle, bool router, sf_error_t *error)
{
    return s_recv (self, handle, router, ZMQ_DONTWAIT, error);
}

int
sf_msg_recv_wait (sf_msg_t *self, void *handle, bool router, int timeout_ms,
                  sf_error_t *error)
{
    zmq_pollitem_t item = { handle, 0, ZMQ_POLLIN, 0 };
    int rc = zmq_poll (&item, 1, timeout_ms);
    if (rc <= 0)
        return 1;
    return s_recv (self, handle, router, ZMQ_DONTWAIT, error);
}

//  --------------------------------------------------------------------------
//  Send one message without blocking.

int
sf_msg_send (void *handle, const void *routing, size_t routing_size,
             int command, const void *body, size_t size)
{
    unsigned char cmd = (unsigned char) command;
    //  A ROUTER must never block on one slow peer; a DEALER (client,
    //  worker) waits for room, bounded by the socket's ZMQ_SNDTIMEO.
    int flags = routing? ZMQ_DONTWAIT: 0;
    if (routing
    &&  zmq_send (handle, routing, routing_size, ZMQ_SNDMORE | flags) < 0)
        return -1;
    //  Once the first frame is queued the rest cannot fail for lack of room
    if (zmq_send (handle, SF_PROTO_SIGNATURE, SF_PROTO_SIGNATURE_SIZE,
                  ZMQ_SNDMORE | flags) < 0
    ||  zmq_send (handle, &cmd, 1, ZMQ_SNDMORE | flags) < 0
    ||  zmq_send (handle, body, size, flags) < 0)
        return -1;
    return 0;
}

//  --------------------------------------------------------------------------
//  Send an ERROR reply.

int
sf_msg_send_error (void *handle, const void *routing, size_t routing_size,
                   uint64_t tag, const sf_error_t *error)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, sf_mp_write);
    msgpack_pack_map (&pk, 3);
    sf_mp_pack_kv_uint (&pk, "tag", tag);
    sf_mp_pack_kv_str (&pk, "code", error->code);
    sf_mp_pack_kv_str (&pk, "message", error->message);
    int rc = sf_msg_send (handle, routing, routing_size, SF_CMD_ERROR,
                          buffer.data, buffer.size);
    msgpack_sbuffer_destroy (&buffer);
    return rc;
}
