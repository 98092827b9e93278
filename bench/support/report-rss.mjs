// Preloaded into the benchmark's child processes (`node --import`): reports the process's peak RSS on
// stderr at exit, the kernel's own figure (getrusage ru_maxrss), so each contender is measured alike.
process.on('exit', () => {
  process.stderr.write(`\nSEXTANT_BENCH_MAX_RSS_KB=${process.resourceUsage().maxRSS}\n`);
});
