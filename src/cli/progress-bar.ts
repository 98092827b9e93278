/**
 * A one-line progress bar on stderr for long CLI commands (`ingest`, `demo`). On a terminal it redraws
 * in place; elsewhere (CI logs, pipes) it prints a line every 10 % so logs stay short.
 */
export interface ProgressBar {
  update(done: number, total: number | undefined, detail?: string): void;
  finish(message: string): void;
}

export function createProgressBar(label: string, stream: NodeJS.WriteStream = process.stderr): ProgressBar {
  const tty = stream.isTTY === true;
  let lastDecile = -1;
  let lastDraw = 0;
  return {
    update(done, total, detail) {
      const pct = total ? Math.min(100, Math.floor((done / total) * 100)) : undefined;
      if (tty) {
        const now = Date.now();
        if (now - lastDraw < 100 && pct !== 100) return;
        lastDraw = now;
        const width = 30;
        const filled = pct === undefined ? 0 : Math.round((pct / 100) * width);
        const bar = pct === undefined ? '' : `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(pct).padStart(3)}% `;
        stream.write(`\r${label} ${bar}${detail ?? ''}\x1b[K`);
      } else if (pct !== undefined && Math.floor(pct / 10) > lastDecile) {
        lastDecile = Math.floor(pct / 10);
        stream.write(`${label} ${pct}% ${detail ?? ''}\n`);
      }
    },
    finish(message) {
      stream.write(tty ? `\r${label} ${message}\x1b[K\n` : `${label} ${message}\n`);
    },
  };
}
