/* sim_queue.c - the event heap (see sim_queue.h). */
#include "sim_queue.h"

#include <stdlib.h>

#include "util/alloc.h"

void sim_queue_init(sim_queue_t *q)
{
    q->heap = NULL;
    q->len = q->cap = 0;
    q->next_seq = 0;
}

void sim_queue_free(sim_queue_t *q)
{
    for (size_t i = 0; i < q->len; i++)
        free(q->heap[i].bytes);
    free(q->heap);
    sim_queue_init(q);
}

static int ev_less(const sim_event_t *a, const sim_event_t *b)
{
    if (a->at_ms != b->at_ms)
        return a->at_ms < b->at_ms;
    return a->seq < b->seq;
}

static void ev_swap(sim_event_t *a, sim_event_t *b)
{
    sim_event_t t = *a;
    *a = *b;
    *b = t;
}

void sim_queue_push(sim_queue_t *q, sim_event_t *ev)
{
    if (q->len == q->cap) {
        q->cap = q->cap ? q->cap * 2 : 256;
        q->heap = xrealloc(q->heap, q->cap * sizeof *q->heap);
    }
    ev->seq = q->next_seq++;
    size_t i = q->len++;
    q->heap[i] = *ev;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!ev_less(&q->heap[i], &q->heap[parent]))
            break;
        ev_swap(&q->heap[i], &q->heap[parent]);
        i = parent;
    }
}

uint64_t sim_queue_next_at(const sim_queue_t *q)
{
    return q->len ? q->heap[0].at_ms : UINT64_MAX;
}

int sim_queue_pop(sim_queue_t *q, sim_event_t *out)
{
    if (q->len == 0)
        return 0;
    *out = q->heap[0];
    q->heap[0] = q->heap[--q->len];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < q->len && ev_less(&q->heap[l], &q->heap[m]))
            m = l;
        if (r < q->len && ev_less(&q->heap[r], &q->heap[m]))
            m = r;
        if (m == i)
            break;
        ev_swap(&q->heap[i], &q->heap[m]);
        i = m;
    }
    return 1;
}
