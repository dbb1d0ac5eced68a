/*
 * merge.h - stampede merge: add result files (shards) into one result,
 * histograms bin by bin, counters field by field; thresholds judged on the
 * merge.
 */
#ifndef STAMPEDE_MERGE_H
#define STAMPEDE_MERGE_H

#include "ci.h"
#include "hist.h"

struct fy_node;

/* stampede merge FILE... [--json OUT] [--html OUT] [-q]; the CI flags
 * (--threshold, --junit, --summary-md) are already in `ci`. Returns the
 * exit code. */
int merge_cmd(int argc, char **argv, struct ci_opts *ci);

/* Rebuild a result's metric (its JSON object: count, min, max, overflow,
 * hist.sum_ns, hist.bins) into h exactly: bins, count, overflow, sum, min
 * and max as stored. NULL, or what is wrong with it. The layout is not
 * checked here (merge does, before). */
const char *merge_hist_read(struct fy_node *metric, struct hist *h);

#endif
