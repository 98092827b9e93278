/** The PostgreSQL a benchmark runs on: SEXTANT_BENCH_PG_URL, or a server started like the tests start theirs. */
import pg from 'pg';
import { startServices } from '../../test/support/services.js';

export async function benchPostgres(database: string): Promise<{ url: string; stop: () => Promise<void> }> {
  let base = process.env.SEXTANT_BENCH_PG_URL;
  let stop = async () => undefined as void;
  if (!base) {
    const services = await startServices({ postgres: true });
    base = services.pgUrl!;
    stop = services.stop;
  }
  const admin = new pg.Client(base);
  await admin.connect();
  const exists = await admin.query('select 1 from pg_database where datname = $1', [database]);
  if (exists.rowCount === 0) await admin.query(`create database "${database.replace(/"/g, '""')}"`);
  await admin.end();
  const url = new URL(base);
  url.pathname = `/${database}`;
  return { url: url.toString(), stop };
}
