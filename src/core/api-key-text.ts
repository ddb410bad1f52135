/**
 * The text of an API key: `evk_<key id>_<secret>`, the key id 12 hex digits, the secret 32 bytes
 * in base64url (43 characters). The server parses presented keys with it; the client refuses a
 * malformed key when it opens, instead of spooling events that could never be delivered.
 */
export const API_KEY_TEXT = /^evk_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;
