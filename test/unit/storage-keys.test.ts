import { describe, expect, it } from 'vitest';
import { UserError } from '../../src/errors.js';
import { MAX_FILENAME_BYTES, assertListPrefix, assertObjectKey, objectKeyProblem, rawObjectKey, sanitizeFilename } from '../../src/storage/keys.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    return err instanceof UserError ? err.code : 'not a UserError';
  }
}

describe('object keys', () => {
  it('accepts ordinary keys', () => {
    for (const key of ['a', 'raw/social/dt=2026-01-01/job/file.csv', 'inbox/web/Q1 report (final).xlsx', 'é/東京/😀', '.hidden/x', 'a..b', '...']) {
      expect(objectKeyProblem(key), key).toBeUndefined();
      expect(assertObjectKey(key)).toBe(key);
    }
  });

  it('names what is wrong with a bad key', () => {
    expect(objectKeyProblem('')).toBe('it is empty');
    expect(objectKeyProblem('../x')).toBe('it has a ".." segment');
    expect(objectKeyProblem('a/./b')).toBe('it has a "." segment');
    expect(objectKeyProblem('/a')).toBe('it starts with "/"');
    expect(objectKeyProblem('a//b')).toMatch(/empty segment/);
    expect(objectKeyProblem('a/')).toMatch(/empty segment/);
    expect(objectKeyProblem('a\\..\\b')).toBe('it contains a backslash');
    expect(objectKeyProblem('a\u0000b')).toBe('it contains a control character');
    expect(objectKeyProblem('a\u007fb')).toBe('it contains a control character');
    expect(objectKeyProblem('a\u0085b')).toBe('it contains a control character');
    expect(objectKeyProblem('é'.repeat(513))).toBe('it is longer than 1024 bytes');
    expect(objectKeyProblem('é'.repeat(512))).toBeUndefined();
  });

  it('throws BAD_USER_INPUT with the key and the expected form', () => {
    try {
      assertObjectKey('../../etc/passwd');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(UserError);
      expect((err as UserError).code).toBe('BAD_USER_INPUT');
      expect((err as UserError).message).toContain('"../../etc/passwd"');
      expect((err as UserError).message).toContain('Expected');
    }
  });

  it('accepts any list prefix a key can start with', () => {
    for (const prefix of ['', 'raw/', 'raw/soc', 'a/..', 'a//']) expect(assertListPrefix(prefix)).toBe(prefix);
    expect(codeOf(() => assertListPrefix('/raw'))).toBe('BAD_USER_INPUT');
    expect(codeOf(() => assertListPrefix('raw\n'))).toBe('BAD_USER_INPUT');
  });
});

describe('sanitizeFilename', () => {
  it('keeps ordinary names, letters of any script and the extension', () => {
    expect(sanitizeFilename('posts.csv')).toBe('posts.csv');
    expect(sanitizeFilename('Résultats_été-2026.xlsx')).toBe('Résultats_été-2026.xlsx');
    expect(sanitizeFilename('東京.csv')).toBe('東京.csv');
    expect(sanitizeFilename('REPORT.CSV')).toBe('REPORT.CSV');
  });

  it('keeps only the last path component, whichever separator the client used', () => {
    expect(sanitizeFilename('C:\\fakepath\\data.csv')).toBe('data.csv');
    expect(sanitizeFilename('../../etc/passwd')).toBe('passwd');
    expect(sanitizeFilename('dir/sub/')).toBe('file');
  });

  it('drops control characters and replaces anything else unusual with "_"', () => {
    expect(sanitizeFilename('a\u0000b\nc.csv')).toBe('abc.csv');
    expect(sanitizeFilename('Q1 report (final) #2.csv')).toBe('Q1_report_final_2.csv');
    expect(sanitizeFilename('name<>:"|?*.txt')).toBe('name.txt');
    expect(sanitizeFilename('evil.php%00.jpg')).toBe('evil.php_00.jpg');
  });

  it('strips leading dots so no name is hidden, "." or ".."', () => {
    expect(sanitizeFilename('.htaccess')).toBe('htaccess');
    expect(sanitizeFilename('..')).toBe('file');
    expect(sanitizeFilename('...csv')).toBe('csv');
    expect(sanitizeFilename('.')).toBe('file');
    expect(sanitizeFilename('')).toBe('file');
    expect(sanitizeFilename('trailing.')).toBe('trailing');
  });

  it('caps the length in bytes and keeps the extension', () => {
    const long = sanitizeFilename(`${'a'.repeat(500)}.xlsx`);
    expect(Buffer.byteLength(long)).toBe(MAX_FILENAME_BYTES);
    expect(long.endsWith('.xlsx')).toBe(true);
    const wide = sanitizeFilename(`${'é'.repeat(300)}.csv`);
    expect(Buffer.byteLength(wide)).toBeLessThanOrEqual(MAX_FILENAME_BYTES);
    expect(wide).toMatch(/^é+\.csv$/);
    // An "extension" too long to be one is cut with the rest.
    expect(Buffer.byteLength(sanitizeFilename(`x.${'y'.repeat(300)}`))).toBeLessThanOrEqual(MAX_FILENAME_BYTES);
    // Characters outside the BMP are never split.
    expect(sanitizeFilename(`${'😀'.repeat(100)}.csv`)).toBe('file.csv');
    expect(sanitizeFilename(`${'𝒳'.repeat(100)}.csv`)).toMatch(/^(𝒳)+\.csv$/u);
  });

  it('always yields a valid key segment', () => {
    for (const name of ['', '.', '..', '/', '\\', '\u0000', ' ', '..\\..\\x', 'a/../b', '%2e%2e', 'CON', `${'x'.repeat(2000)}`]) {
      const safe = sanitizeFilename(name);
      expect(objectKeyProblem(safe), name).toBeUndefined();
      expect(safe.includes('/')).toBe(false);
      expect(safe.startsWith('.')).toBe(false);
    }
  });
});

describe('rawObjectKey', () => {
  const at = new Date('2026-03-31T23:30:00-02:00'); // 2026-04-01 01:30 UTC

  it('lays raw inputs out by target, UTC day and job', () => {
    expect(rawObjectKey('social_manual_posts', 'job-42', 'posts.csv', at)).toBe('raw/social_manual_posts/dt=2026-04-01/job-42/posts.csv');
  });

  it('sanitises the file name', () => {
    expect(rawObjectKey('web', 'j1', '../../Q1 report.csv', at)).toBe('raw/web/dt=2026-04-01/j1/Q1_report.csv');
    expect(objectKeyProblem(rawObjectKey('web', 'j1', '..', at))).toBeUndefined();
  });

  it('refuses a target or job id that is not one key segment', () => {
    expect(codeOf(() => rawObjectKey('a/b', 'j', 'f.csv', at))).toBe('BAD_USER_INPUT');
    expect(codeOf(() => rawObjectKey('..', 'j', 'f.csv', at))).toBe('BAD_USER_INPUT');
    expect(codeOf(() => rawObjectKey('t', '', 'f.csv', at))).toBe('BAD_USER_INPUT');
    expect(codeOf(() => rawObjectKey('t', 'j\n', 'f.csv', at))).toBe('BAD_USER_INPUT');
    expect(codeOf(() => rawObjectKey('t', 'j', 'f.csv', new Date('nonsense')))).toBe('BAD_USER_INPUT');
  });
});
