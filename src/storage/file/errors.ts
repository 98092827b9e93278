/**
 * The one place where file system errors of the folder store become errors a caller can act on.
 */
import { UserError } from '../../errors.js';

/** The `code` of a Node.js system error, if it is one. */
export function errnoCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = (err as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}

/** True for the errors that mean "there is no object at this key". */
export function isMissing(err: unknown): boolean {
  const code = errnoCode(err);
  // ENOTDIR: a parent segment is an object, EISDIR: the key is a "folder" of other keys; neither is an object.
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR';
}

/** Does the error come from an aborted signal (ours or the caller's)? */
export function isAbort(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { name?: unknown }).name === 'AbortError';
}

/**
 * Translates a file system error raised while working on `key`. `writing`: the error came from
 * creating the key's file (put, the target of a move), where a clash with the folder layout is the
 * likely cause. Missing objects become NOT_FOUND; keys the folder layout cannot hold become
 * BAD_USER_INPUT; the rest keep their cause and gain the key and the operation in the message (they
 * are operator problems: disk full, permissions).
 */
export function translateFileError(err: unknown, operation: string, key: string, writing = false): Error {
  if (err instanceof UserError || isAbort(err)) return err as Error;
  const code = errnoCode(err);
  if (writing && (code === 'ENOTDIR' || code === 'EISDIR' || code === 'EEXIST' || code === 'ENOTEMPTY')) {
    // S3 allows both "a" and "a/b" as keys; a folder cannot hold a file and a directory of one name.
    return new UserError(
      'BAD_USER_INPUT',
      `Object key ${JSON.stringify(key)} clashes with another object in the folder store: one key is a "folder" of the other. ` +
        'Expected keys where no object key is also the start of another key followed by "/".',
      { details: { key }, cause: err },
    );
  }
  if (isMissing(err) && !writing) {
    return new UserError('NOT_FOUND', `Object ${JSON.stringify(key)} does not exist in the object store.`, { details: { key }, cause: err });
  }
  if (code === 'ENAMETOOLONG') {
    return new UserError('BAD_USER_INPUT', `Object key ${JSON.stringify(key)} is too long for the folder store: expected each segment to be at most 255 bytes.`, {
      details: { key },
      cause: err,
    });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new Error(`Folder object store: ${operation} ${JSON.stringify(key)} failed: ${message}`, { cause: err });
}
