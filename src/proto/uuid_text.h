/*
 * uuid_text.h: Kafka's text form of a Uuid (cluster ids, topic ids,
 * directory ids): its 16 bytes in base64url without padding, 22 characters.
 */
#ifndef RN_PROTO_UUID_TEXT_H
#define RN_PROTO_UUID_TEXT_H

#include "proto/wire.h"

#include <stdbool.h>

#define RN_UUID_TEXT_CHARS 22

/* Writes the 22 characters and a NUL into out (at least 23 bytes). */
void rn_uuid_to_text(const rn_uuid_t *id, char *out);
/* Parses a canonical 22-character form; false for anything else. */
bool rn_uuid_from_text(const char *text, rn_uuid_t *id);

#endif
