/** The benches' posts file: `rows` rows of platform, post id, date, impressions, likes (36.6 MB at 1M rows). */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';

export async function writePostsCsv(path: string, rows: number): Promise<void> {
  const out = createWriteStream(path);
  out.write('platform,Post ID,Date,impressions,likes\n');
  const platforms = ['facebook', 'instagram', 'x'];
  let buf = '';
  for (let i = 0; i < rows; i++) {
    const d = new Date(Date.UTC(2025, 0, 1) + (i % 700) * 86_400_000).toISOString().slice(0, 10);
    buf += `${platforms[i % 3]},p${i},${d},${(i * 7919) % 100000},${(i * 31) % 5000}\n`;
    if (buf.length > 1 << 16) {
      if (!out.write(buf)) await once(out, 'drain');
      buf = '';
    }
  }
  out.end(buf);
  await once(out, 'finish');
}
