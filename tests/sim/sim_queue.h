/* sim_queue.h - the simulator's event queue: a binary heap of timed events.
 *
 * Events are ordered by virtual time, then by the order they were pushed, so
 * that a run is a pure function of its seed. An event owns its bytes (a bus
 * message in flight); sim_queue_pop hands them to the caller. */
#ifndef DYNIS_SIM_QUEUE_H
#define DYNIS_SIM_QUEUE_H

#include <stddef.h>
#include <stdint.h>

enum sim_event_kind {
    SIM_EV_DELIVER, /* a bus message arrives at node `to` */
    SIM_EV_CLIENT,  /* client `to` wakes up (to issue its next operation) */
};

typedef struct sim_event {
    uint64_t at_ms;
    uint64_t seq;
    enum sim_event_kind kind;
    uint32_t from, to;
    char *bytes; /* owned (SIM_EV_DELIVER) */
    size_t len;
} sim_event_t;

typedef struct sim_queue {
    sim_event_t *heap;
    size_t len, cap;
    uint64_t next_seq;
} sim_queue_t;

void sim_queue_init(sim_queue_t *q);
/* Frees the queue and the bytes of every event still in it. */
void sim_queue_free(sim_queue_t *q);
/* Pushes ev (its bytes are taken over); ev->seq is assigned here. */
void sim_queue_push(sim_queue_t *q, sim_event_t *ev);
/* The time of the earliest event, or UINT64_MAX when empty. */
uint64_t sim_queue_next_at(const sim_queue_t *q);
/* Pops the earliest event into out (the caller owns out->bytes); 0 if empty. */
int sim_queue_pop(sim_queue_t *q, sim_event_t *out);

#endif
