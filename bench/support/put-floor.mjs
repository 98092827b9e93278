// The floor of an upload PUT: a bare node:http server in a process of its own that receives the body, hashes it
// (SHA-256, as the folder store's etag), writes it to a new file, fsyncs and closes it, then answers (the bench
// deletes the files). No routing, no signature, no byte limit, no sidecar, no rename, no folder sync.
//   PUT /chunks    each chunk written as it arrives (awaited), as a first script would;
//   PUT /gathered  chunks gathered into writes of 1 MB (one in flight while the next are read), as the folder store does.
// Prints its port on stdout.
import { createHash, randomUUID } from 'node:crypto';
import { open } from 'node:fs/promises';
import { createServer } from 'node:http';
import { join } from 'node:path';

const dir = process.argv[2];
const server = createServer(async (req, res) => {
  const fh = await open(join(dir, randomUUID()), 'wx', 0o644);
  const hash = createHash('sha256');
  let bytes = 0;
  if (req.url === '/gathered') {
    let gathered = [];
    let gatheredBytes = 0;
    let writing = Promise.resolve();
    for await (const chunk of req) {
      hash.update(chunk);
      bytes += chunk.length;
      gathered.push(chunk);
      gatheredBytes += chunk.length;
      if (gatheredBytes >= 1 << 20) {
        await writing;
        writing = fh.writev(gathered);
        gathered = [];
        gatheredBytes = 0;
      }
    }
    await writing;
    if (gathered.length > 0) await fh.writev(gathered);
  } else {
    for await (const chunk of req) {
      hash.update(chunk);
      bytes += chunk.length;
      await fh.write(chunk);
    }
  }
  await fh.sync();
  await fh.close();
  const etag = hash.digest('hex').slice(0, 32);
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ bytes, etag }));
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`));
