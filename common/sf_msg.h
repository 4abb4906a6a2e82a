/*  =========================================================================
    sf_msg - the envelope of every sheaf message (docs/PROTOCOL.md, "Frames")

    A message is three ZeroMQ frames: the protocol signature "SF02", one
    command byte, and a msgpack body. A ROUTER socket adds the peer's routing
    id in front. sf_msg receives and validates the envelope without copying
    the body; sf_msg_send sends one.
    ========================================================================= */

#ifndef SF_MSG_H_INCLUDED
#define SF_MSG_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <zmq.h>
#include "sheaf.h"

//  Protocol signature: "SF" and a two-digit version. Checklist when the
//  version changes: this constant, docs/PROTOCOL.md, the version test in
//  tests/check_sf_msg.c.
#define SF_PROTO_SIGNATURE "SF02"
#define SF_PROTO_SIGNATURE_SIZE 4

typedef enum {
    //  Client to broker
    SF_CMD_SUBMIT = 0x01,
    SF_CMD_STATUS = 0x02,
    SF_CMD_FETCH = 0x03,
    SF_CMD_CANCEL = 0x04,
    SF_CMD_DEAD = 0x05,
    SF_CMD_GROUP = 0x06,
    //  Worker to broker (HEARTBEAT and DISCONNECT go both ways)
    SF_CMD_READY = 0x11,
    SF_CMD_RESULTS = 0x12,
    SF_CMD_HEARTBEAT = 0x13,
    SF_CMD_DISCONNECT = 0x14,
    SF_CMD_LOST = 0x15,         //  A supervisor saw a worker process die
    //  Broker to client (ERROR also to workers)
    SF_CMD_ACCEPTED = 0x81,
    SF_CMD_RESULT = 0x82,
    SF_CMD_ERROR = 0x83,
    SF_CMD_STATUS_REPLY = 0x84,
    SF_CMD_STATE = 0x85,
    SF_CMD_CANCEL_REPLY = 0x88,
    SF_CMD_DEAD_REPLY = 0x89,
    SF_CMD_GROUP_RESULT = 0x86,
    SF_CMD_GROUP_ITEM = 0x87,
    //  Broker to worker
    SF_CMD_DISPATCH = 0x91,
    SF_CMD_STOP = 0x92          //  Stop running these jobs (cancel, timeout)
} sf_cmd_t;

//  Name of a command for logs ("SUBMIT"), or "UNKNOWN".
const char *sf_cmd_name (int command);

typedef struct {
    zmq_msg_t routing;          //  Routing id (ROUTER sockets only)
    zmq_msg_t body;             //  Msgpack body
    int command;                //  SF_CMD_* value, -1 if unreadable
    bool routed;                //  routing holds the sender's routing id
} sf_msg_t;

//  Prepare an sf_msg_t for use; pair with sf_msg_close.
void sf_msg_init (sf_msg_t *self);

//  Receive one message without blocking. router says whether the socket
//  prepends a routing id. Returns 0 for a valid envelope, 1 when no message
//  was waiting, or -1 for a malformed one with error set (code PROTOCOL,
//  VERSION or UNKNOWN_COMMAND); self->routed then tells whether a reply can
//  be routed back. All frames of the message are consumed in every case.
int sf_msg_recv (sf_msg_t *self, void *handle, bool router, sf_error_t *error);

//  Receive like sf_msg_recv but wait up to timeout_ms (-1 forever).
int sf_msg_recv_wait (sf_msg_t *self, void *handle, bool router, int timeout_ms,
                      sf_error_t *error);

//  The body (borrowed from self) and its size.
const char *sf_msg_data (sf_msg_t *self);
size_t sf_msg_size (sf_msg_t *self);

//  Release the frames; self may be received into again.
void sf_msg_close (sf_msg_t *self);

//  Send a message: routing (routing_size bytes) first if not NULL, and then
//  never blocking; without routing (a DEALER) it waits for room up to the
//  socket's send timeout. Returns 0, or -1 with errno (EHOSTUNREACH: that
//  peer is gone, EAGAIN: its queue is full).
int sf_msg_send (void *handle, const void *routing, size_t routing_size,
                 int command, const void *body, size_t size);

//  Send an ERROR reply {tag, code, message}. Returns as sf_msg_send.
int sf_msg_send_error (void *handle, const void *routing, size_t routing_size,
                       uint64_t tag, const sf_error_t *error);

#endif
