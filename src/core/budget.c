/* budget.c - the background budget's token bucket (see budget.h). Tokens are
 * milli-bytes: a rate of r bytes/s accrues r milli-bytes per ms. With the
 * rate at most BUDGET_RATE_MAX (2^40) and the bucket between -r *
 * BUDGET_DEBT_MS and r * BUDGET_BURST_MS, every value fits an int64_t. */
#include "core/budget.h"

#include <string.h>

static int64_t budget_cap(const budget_t *b)
{
    return (int64_t)(b->rate * BUDGET_BURST_MS);
}

static int64_t budget_floor(const budget_t *b)
{
    return -(int64_t)(b->rate * BUDGET_DEBT_MS);
}

/* Accrues the tokens of the time since last_ms, up to the cap. */
static void budget_refill(budget_t *b, uint64_t now_ms)
{
    if (now_ms <= b->last_ms)
        return;
    uint64_t elapsed = now_ms - b->last_ms;
    b->last_ms = now_ms;
    if (b->rate == 0)
        return;
    int64_t cap = budget_cap(b);
    if (b->tokens_mb >= cap)
        return;
    uint64_t room = (uint64_t)(cap - b->tokens_mb);
    if (elapsed > room / b->rate)
        b->tokens_mb = cap;
    else
        b->tokens_mb += (int64_t)(elapsed * b->rate);
}

static uint64_t budget_clamp_rate(uint64_t rate)
{
    return rate > BUDGET_RATE_MAX ? BUDGET_RATE_MAX : rate;
}

void budget_init(budget_t *b, uint64_t rate, uint64_t now_ms)
{
    memset(b, 0, sizeof *b);
    b->rate = budget_clamp_rate(rate);
    b->last_ms = now_ms;
    b->tokens_mb = budget_cap(b);
}

void budget_set_rate(budget_t *b, uint64_t rate, uint64_t now_ms)
{
    budget_refill(b, now_ms);
    bool was_unlimited = b->rate == 0;
    b->rate = budget_clamp_rate(rate);
    if (was_unlimited || b->tokens_mb > budget_cap(b))
        b->tokens_mb = budget_cap(b);
    if (b->tokens_mb < budget_floor(b))
        b->tokens_mb = budget_floor(b);
}

bool budget_try(budget_t *b, uint64_t now_ms)
{
    budget_refill(b, now_ms);
    if (b->rate == 0 || b->tokens_mb > 0)
        return true;
    b->stats.deferred++;
    return false;
}

void budget_charge(budget_t *b, uint64_t now_ms, uint64_t bytes)
{
    budget_refill(b, now_ms);
    b->stats.used_bytes += bytes;
    if (b->rate == 0)
        return;
    int64_t floor = budget_floor(b);
    uint64_t above = (uint64_t)(b->tokens_mb - floor) / 1000; /* whole bytes to the floor */
    if (bytes >= above)
        b->tokens_mb = floor;
    else
        b->tokens_mb -= (int64_t)(bytes * 1000);
}

void budget_absorb(budget_t *b, uint64_t now_ms, uint64_t bytes)
{
    budget_refill(b, now_ms);
    b->stats.used_bytes += bytes;
    if (b->rate == 0 || b->tokens_mb <= 0)
        return;
    if (bytes > (uint64_t)b->tokens_mb / 1000)
        b->tokens_mb = 0;
    else
        b->tokens_mb -= (int64_t)(bytes * 1000);
}

uint64_t budget_ready_ms(const budget_t *b)
{
    if (b->rate == 0 || b->tokens_mb > 0)
        return b->last_ms;
    /* The first ms at which tokens_mb + ms * rate > 0. */
    return b->last_ms + (uint64_t)(-b->tokens_mb) / b->rate + 1;
}

int64_t budget_available(const budget_t *b)
{
    return b->tokens_mb / 1000;
}

const budget_stats_t *budget_stats(const budget_t *b)
{
    return &b->stats;
}
