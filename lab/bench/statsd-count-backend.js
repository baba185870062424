// A statsd backend that only adds up how many metrics statsd received, so the benchmark can
// compare it with the collector. statsd calls init() and then emits "flush" every interval.
"use strict";
const fs = require("node:fs");

exports.init = function init(_startup, config, events) {
  const file = config.countFile;
  let total = 0;
  events.on("flush", (_timestamp, metrics) => {
    total += metrics.counters["statsd.metrics_received"] || 0;
    fs.writeFileSync(file, String(total));
  });
  return true;
};
