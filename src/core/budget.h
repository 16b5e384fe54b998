/* budget.h - the background budget: one token bucket, in bytes per second,
 * that a node's background work shares (hint delivery, slot handoff,
 * anti-entropy, read repair), so that repair traffic after a long outage
 * cannot starve client requests.
 *
 * Tokens accrue at the rate, up to BUDGET_BURST_MS worth of it (what an idle
 * budget lets go at once). Work asks budget_try before it starts and charges
 * what it sent with budget_charge. A charge may take the bucket below zero (a
 * debt), so that one message larger than the bucket still goes; the debt is
 * bounded by BUDGET_DEBT_MS worth of the rate, so after any one charge the
 * budget is available again within BUDGET_DEBT_MS. Work that could not
 * wait (a responder's answer) is absorbed: counted, and it empties the
 * bucket, but it never leaves a debt, so that it cannot starve the work
 * that waits for the budget forever. A rate of 0 means unlimited:
 * budget_try always says yes, and charges are only counted.
 *
 * Pure: time comes in as now_ms (a clock that goes back accrues nothing).
 * Tokens are kept in milli-bytes, so that low rates accrue exactly per ms.
 *
 * Ownership: a budget_t is a plain value the caller embeds; nothing to free. */
#ifndef DYNIS_CORE_BUDGET_H
#define DYNIS_CORE_BUDGET_H

#include <stdbool.h>
#include <stdint.h>

#define BUDGET_BURST_MS 1000  /* an idle budget holds one second of its rate */
#define BUDGET_DEBT_MS 10000  /* the longest wait one charge can cause */
#define BUDGET_RATE_MAX (UINT64_C(1) << 40) /* bytes/s; higher rates are clamped */

typedef struct budget_stats {
    uint64_t used_bytes; /* charged in all */
    uint64_t deferred;   /* budget_try refusals: work that waited */
} budget_stats_t;

typedef struct budget {
    uint64_t rate;     /* bytes per second, 0: unlimited */
    int64_t tokens_mb; /* milli-bytes available, negative while in debt */
    uint64_t last_ms;  /* when tokens_mb was last brought up to date */
    budget_stats_t stats;
} budget_t;

/* A full budget of rate bytes per second (0: unlimited) at now_ms. */
void budget_init(budget_t *b, uint64_t rate, uint64_t now_ms);
/* Changes the rate, keeping what accrued at the old one (clamped to the new
 * burst and debt bounds); from unlimited, the budget starts full. */
void budget_set_rate(budget_t *b, uint64_t rate, uint64_t now_ms);
/* True when work may start now (tokens left, or unlimited); false counts
 * one deferral. */
bool budget_try(budget_t *b, uint64_t now_ms);
/* Takes bytes from the budget (and counts them), at most down to the debt
 * bound; never refuses. */
void budget_charge(budget_t *b, uint64_t now_ms, uint64_t bytes);
/* Takes bytes of work that could not wait (and counts them): at most what
 * is left in the bucket, never into debt. */
void budget_absorb(budget_t *b, uint64_t now_ms, uint64_t bytes);
/* The earliest time budget_try says yes (at or before the last call's
 * now_ms: it already does). */
uint64_t budget_ready_ms(const budget_t *b);
/* Whole bytes available as of the last call (negative: the debt). */
int64_t budget_available(const budget_t *b);
const budget_stats_t *budget_stats(const budget_t *b);

#endif
