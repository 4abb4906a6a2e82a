/*  =========================================================================
    fuzz_broker - the input language of the broker's fuzz target

    An input is a sequence of operations, each an opcode byte (taken
    modulo FB_OPS) followed by its operand bytes; an input that ends in
    the middle of one reads zeros. Every byte means something, so a
    mutation of a seed is another plausible session with the broker. The
    seeds are written by tests/fuzz/make_corpus.c (checklist when this
    changes: fuzz_broker.c, make_corpus.c, then regenerate the corpus).

    Operand tables index modulo their size; "known" picks one of the last
    ids the session learned (job, group and item ids from ACCEPTED, in
    order), "held" one of the jobs a worker was dispatched and has not
    answered.
    ========================================================================= */

#ifndef FUZZ_BROKER_H_INCLUDED
#define FUZZ_BROKER_H_INCLUDED

enum {
    FB_SUBMIT,          //  client, job (FB_JOBS)
    FB_GROUP,           //  client, options (FB_GROUP_OPTIONS), items n (1 + n % 4), n × item (FB_ITEMS)
    FB_READY,           //  worker, analyzers (FB_ANALYZERS), slots (1 + n % 4)
    FB_RESULT,          //  worker, held, outcome (FB_OUTCOMES), lease (bit 0: an older attempt)
    FB_HEARTBEAT,       //  worker
    FB_DISCONNECT,      //  worker
    FB_LOST,            //  worker (a supervisor reports it dead, by name)
    FB_TIME,            //  step (FB_STEPS_MS), duties (bit 0: heartbeats, bit 1: retention,
                        //  bit 2: the store's writes fail from now on, bit 3: they work
                        //  again and the broker's commit retry runs)
    FB_CANCEL,          //  client, known
    FB_FETCH,           //  client, known, wait (bit 0)
    FB_DEAD,            //  client, op (list, show, retry, purge), known (bit 7 set: no id)
    FB_STATUS,          //  client
    FB_RAW,             //  peer (bit 7: a worker's), command, length n (n % 64), n bytes of body
    FB_OPS
};

//  Peers of a session: clients and workers 0..FB_PEERS-1.
#define FB_PEERS 3

//  Outcomes a worker reports.
enum {
    FB_OK,              //  status ok
    FB_TRANSIENT,       //  status error, code TRANSIENT (retried while retries last)
    FB_ANALYSIS,        //  status error, code ANALYSIS (final)
    FB_CANCELLED,       //  status error, code CANCELLED (a worker shutting down)
    FB_DEAD_STATUS,     //  status dead: not a worker's to report
    FB_OUTCOMES
};

#endif
