// Read a stampede --hdr-log file with hdr-histogram-js's HistogramLogReader
// (a reader nobody on this project wrote) and print, as one JSON object, per
// tag: the interval lines, the merged histogram's total count, max,
// percentiles and non-empty bins [lowest value of the slot, count]
// (tests/e2e/hdr_log.sh compares them with stampede's JSON result).
// usage: node hdr_decode.js FILE
'use strict';
const fs = require('fs');
const hdr = require('hdr-histogram-js');

const reader = new hdr.HistogramLogReader(fs.readFileSync(process.argv[2], 'utf8'), 64);
const tags = {};
let h;
while ((h = reader.nextIntervalHistogram()) !== null) {
  let t = tags[h.tag];
  if (!t) {
    t = tags[h.tag] = {
      intervals: [],
      merged: hdr.build({ bitBucketSize: 64, lowestDiscernibleValue: 1,
                          highestTrackableValue: 3600000000, numberOfSignificantValueDigits: 3 }),
    };
  }
  t.intervals.push({ start_ms: h.startTimeStampMsec, end_ms: h.endTimeStampMsec,
                     count: h.totalCount });
  t.merged.add(h);
}
const out = { start_s: reader.startTimeSec, base_s: reader.baseTimeSec, tags: {} };
for (const [tag, t] of Object.entries(tags)) {
  const m = t.merged;
  const bins = [];
  for (let i = 0; i < m.countsArrayLength; i++) {
    const c = m.getCountAtIndex(i);
    if (c) bins.push([m.valueFromIndex(i), c]);
  }
  out.tags[tag] = {
    lines: t.intervals.length, intervals: t.intervals, count: m.totalCount, max: m.maxValue,
    p50: m.getValueAtPercentile(50), p99: m.getValueAtPercentile(99), bins,
  };
}
process.stdout.write(JSON.stringify(out) + '\n');
