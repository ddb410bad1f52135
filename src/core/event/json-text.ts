/**
 * The canonical JSON text of an event's JSON values (metadata, old_values, new_values), made once
 * by validation and reused for the leaf, the commitment of an erasable value and the stored row:
 * one canonicalisation per value where there were three, and the text hashed and stored is the
 * text validated, even if the caller changes the object after handing it over.
 *
 * Keyed by the value object itself (validation copies the event, not its JSON values), weakly:
 * a text lives exactly as long as its object.
 */
import { canonicalize } from '../canonical.ts';

const texts = new WeakMap<object, string>();

/** Records `text` as the canonical JSON of `value` (validation's own canonicalize of it). */
export function keepCanonicalJson(value: object, text: string): void {
  texts.set(value, text);
}

/** canonicalize(value), or the text validation made of this very object. */
export function canonicalJson(value: unknown): string {
  if (typeof value === 'object' && value !== null) {
    const text = texts.get(value);
    if (text !== undefined) return text;
  }
  return canonicalize(value);
}
