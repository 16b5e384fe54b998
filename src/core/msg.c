/* msg.c - encoding and strict decoding of bus messages (see msg.h). */
#include "core/msg.h"

#include <string.h>

typedef struct msg_layout {
    const char *name;
    bool key, hint, status, body;
} msg_layout_t;

static const msg_layout_t *msg_layout(unsigned type)
{
    static const msg_layout_t layouts[MSG_TYPE_END] = {
#define MSG_LAYOUT(name, num, k, h, s, b) [num] = {#name, k, h, s, b},
        MSG_TYPES(MSG_LAYOUT)
#undef MSG_LAYOUT
    };
    if (type == 0 || type >= MSG_TYPE_END)
        return NULL;
    return &layouts[type];
}

const char *msg_type_name(enum msg_type type)
{
    const msg_layout_t *l = msg_layout((unsigned)type);
    return l ? l->name : "?";
}

void msg_encode(const msg_t *m, buf_t *out)
{
    const msg_layout_t *l = msg_layout((unsigned)m->type);
    if (!l)
        return;
    /* One reservation for the whole message: two bytes, five varints of at
     * most 10 bytes each, the status and the variable fields. */
    buf_reserve(out, 2 + 5 * 10 + 1 + 2 * MSG_NODE_ID_MAX + (l->key ? m->key_len : 0) +
                         (l->body ? m->body_len : 0));
    buf_append_byte(out, MSG_WIRE_VERSION);
    buf_append_byte(out, (uint8_t)m->type);
    buf_put_bytes(out, m->from, strnlen(m->from, MSG_NODE_ID_MAX));
    buf_put_varint(out, m->req_id);
    if (l->key)
        buf_put_bytes(out, m->key, m->key_len);
    if (l->hint)
        buf_put_bytes(out, m->hint_for, strnlen(m->hint_for, MSG_NODE_ID_MAX));
    if (l->status)
        buf_append_byte(out, m->status);
    if (l->body)
        buf_put_bytes(out, m->body, m->body_len);
}

/* Reads a node id field into out (NUL-terminated); ids hold no NUL. */
static bool msg_decode_id(cursor_t *c, char out[MSG_NODE_ID_MAX + 1])
{
    const uint8_t *p;
    size_t len;
    if (!cursor_bytes(c, MSG_NODE_ID_MAX, &p, &len) || memchr(p, 0, len))
        return false;
    memcpy(out, p, len);
    out[len] = 0;
    return true;
}

static bool msg_decode_fields(msg_t *m, const msg_layout_t *l, cursor_t *c)
{
    if (l->key && !cursor_bytes(c, MSG_KEY_MAX, &m->key, &m->key_len))
        return false;
    if (l->hint && !msg_decode_id(c, m->hint_for))
        return false;
    if (l->status) {
        if (!cursor_u8(c, &m->status) || m->status > MSG_STATUS_MAX)
            return false;
    }
    if (l->body && !cursor_bytes(c, MSG_BODY_MAX, &m->body, &m->body_len))
        return false;
    return cursor_left(c) == 0;
}

bool msg_decode(msg_t *m, const void *bytes, size_t len)
{
    memset(m, 0, sizeof *m);
    cursor_t c;
    cursor_init(&c, bytes, len);
    uint8_t version, type;
    if (!cursor_u8(&c, &version) || version != MSG_WIRE_VERSION || !cursor_u8(&c, &type))
        return false;
    const msg_layout_t *l = msg_layout(type);
    bool ok = l != NULL;
    m->type = (enum msg_type)type;
    ok = ok && msg_decode_id(&c, m->from) && cursor_varint(&c, &m->req_id);
    ok = ok && msg_decode_fields(m, l, &c);
    if (!ok)
        memset(m, 0, sizeof *m);
    return ok;
}
