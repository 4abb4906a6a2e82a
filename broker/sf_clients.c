/*  =========================================================================
    sf_clients - the clients with work in the broker, by routing id
    ========================================================================= */

#include <czmq.h>
#include "sf_clients.h"

struct _sf_clients_t {
    zhashx_t *clients;          //  routing id (hex text) -> record; owns them
};

static void
s_crec_destructor (void **item)
{
    sf_crec_t *client = (sf_crec_t *) *item;
    sf_batchw_destroy (&client->out);
    free (client);
    *item = NULL;
}

sf_clients_t *
sf_clients_new (void)
{
    sf_clients_t *self = (sf_clients_t *) zmalloc (sizeof *self);
    self->clients = zhashx_new ();
    zhashx_set_destructor (self->clients, s_crec_destructor);
    return self;
}

void
sf_clients_destroy (sf_clients_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    zhashx_destroy (&(*self_p)->clients);
    free (*self_p);
    *self_p = NULL;
}

sf_crec_t *
sf_clients_hold (sf_clients_t *self, const void *identity, size_t size)
{
    if (size == 0 || size > SF_ROUTING_MAX)
        return NULL;
    char key [2 * SF_ROUTING_MAX + 1];
    sf_routing_key (identity, size, key);
    sf_crec_t *client = (sf_crec_t *) zhashx_lookup (self->clients, key);
    if (!client) {
        client = (sf_crec_t *) zmalloc (sizeof *client);
        memcpy (client->identity, identity, size);
        client->identity_size = size;
        sf_batchw_init (&client->out);
        zhashx_insert (self->clients, key, client);
    }
    client->refs++;
    return client;
}

void
sf_clients_ref (sf_crec_t *client)
{
    client->refs++;
}

void
sf_clients_release (sf_clients_t *self, sf_crec_t **client_p)
{
    sf_crec_t *client = *client_p;
    if (!client)
        return;
    *client_p = NULL;
    assert (client->refs > 0);
    if (--client->refs == 0) {
        char key [2 * SF_ROUTING_MAX + 1];
        sf_routing_key (client->identity, client->identity_size, key);
        zhashx_delete (self->clients, key);
    }
}

bool
sf_clients_is (const sf_crec_t *client, const void *identity, size_t size)
{
    return client && client->identity_size == size
        && memcmp (client->identity, identity, size) == 0;
}

size_t
sf_clients_size (sf_clients_t *self)
{
    return zhashx_size (self->clients);
}
