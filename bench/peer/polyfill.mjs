// PostGraphile 5's grafast calls Promise.withResolvers, which Node 20 lacks (stack-on-this-machine.md §8).
if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function withResolvers() {
    let resolve;
    let reject;
    const promise = new this((a, b) => {
      resolve = a;
      reject = b;
    });
    return { promise, resolve, reject };
  };
}
